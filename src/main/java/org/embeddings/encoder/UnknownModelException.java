package org.embeddings.encoder;

/** A model name that is neither a known card nor an installed model folder. */
public final class UnknownModelException extends InvalidInputException {
    public UnknownModelException(String message) {
        super(message);
    }
}

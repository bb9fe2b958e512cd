package org.embeddings.encoder;

/**
 * A model whose files do not match its card: missing files, unexpected ONNX inputs or outputs, an output rank the
 * pooling cannot use. The message names what the model actually has, so the operator can fix the folder or card.
 */
public final class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}

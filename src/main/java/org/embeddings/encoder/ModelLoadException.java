package org.embeddings.encoder;

/**
 * An installed model that cannot run: a malformed card, a missing or truncated file, unexpected ONNX inputs or
 * outputs, an output rank the pooling cannot use. The message names the file and what it actually holds, so the
 * operator can fix the folder. It is a client error (a request that names a broken model cannot be served as asked,
 * and the server itself is fine), hence an {@link InvalidInputException}.
 */
public final class ModelLoadException extends InvalidInputException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}

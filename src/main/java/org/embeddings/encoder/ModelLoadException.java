package org.embeddings.encoder;

/**
 * An installed model whose files cannot run: a malformed card, a missing or truncated file, unexpected ONNX inputs or
 * outputs, an output rank the pooling cannot use. It is a client error (a request that names a broken model cannot be
 * served as asked, and the server itself is fine), hence an {@link InvalidInputException}, and the registry remembers
 * it until the model's folder changes.
 *
 * <p>The message is sent to clients, so it names the model and the file within its folder ({@code card.json},
 * {@code model.onnx}) but never a file-system path. What the library underneath said, paths included, travels apart as
 * {@link #detail()} for the node's log; it is deliberately not the exception's cause, which OpenSearch would send to the
 * client as {@code caused_by}.
 */
public final class ModelLoadException extends InvalidInputException {
    private final transient Throwable detail;

    public ModelLoadException(String message) {
        this(message, null);
    }

    /**
     * @param message what is wrong, safe to send to a client (no file-system path)
     * @param detail  what the library underneath threw, for the node's log only; may be null
     */
    public ModelLoadException(String message, Throwable detail) {
        super(message);
        this.detail = detail;
    }

    /** The underlying failure for the node's log (it may name paths), or null. */
    public Throwable detail() {
        return detail;
    }
}

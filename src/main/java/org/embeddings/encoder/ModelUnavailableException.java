package org.embeddings.encoder;

/**
 * A model that cannot serve now for a reason of the node rather than of its files: its load ran out of memory, hit a
 * full disk or an I/O error, it is still loading, or it was unloaded while a request waited for it. The registry does
 * not remember such a load failure as a broken model; it retries the load after a backoff. Hosts map it to "service
 * unavailable" (503): the same request may succeed later, unchanged.
 *
 * <p>Like {@link ModelLoadException}, the message is safe to send to a client and {@link #detail()} (for the node's
 * log) is kept apart from the cause.
 */
public final class ModelUnavailableException extends RuntimeException {
    private final transient Throwable detail;

    public ModelUnavailableException(String message) {
        this(message, null);
    }

    public ModelUnavailableException(String message, Throwable detail) {
        super(message);
        this.detail = detail;
    }

    /** The underlying failure for the node's log (it may name paths), or null. */
    public Throwable detail() {
        return detail;
    }
}

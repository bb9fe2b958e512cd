package org.embeddings.encoder.models;

/**
 * What a {@link ModelRegistry} tells its host about model lifecycles, so that the host can log them: a node's log is
 * where a failure's detail goes (the file-system paths and library messages that clients never see). Called on the
 * thread that ran the load or the unload; implementations must be quick and must not throw.
 */
public interface ModelEvents {
    ModelEvents NONE = new ModelEvents() {};

    /** Model {@code name} was loaded: {@code bytes} mapped, after {@code nanos}. */
    default void loaded(String name, long bytes, long nanos) {}

    /**
     * A load of model {@code name} failed. {@code reason} is what clients get; {@code detail} is what was thrown
     * (with paths and library messages). {@code retryInNanos} is the backoff of a transient failure, or -1 for a
     * failure remembered until the folder changes (or not remembered at all).
     */
    default void failed(String name, RuntimeException reason, Throwable detail, long retryInNanos) {}

    /** Model {@code name} was unloaded and closed; its bytes are free again. */
    default void unloaded(String name, long bytes) {}
}

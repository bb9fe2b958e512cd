package org.embeddings.encoder;

/**
 * Loading a model would take the node's loaded model files past their configured limit. The host maps it to "too
 * many requests" (a resource limit, not a bad request): the same call succeeds once the limit is raised.
 */
public final class ModelMemoryLimitException extends RuntimeException {
    public ModelMemoryLimitException(String message) {
        super(message);
    }
}

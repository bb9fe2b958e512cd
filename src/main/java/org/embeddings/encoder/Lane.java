package org.embeddings.encoder;

/**
 * Which work waits for which on a model's {@link NativeThread}: interactive work (a search waiting for its query
 * vector) runs before any bulk work (documents being ingested) that is waiting, so a query never queues behind a
 * bulk, only behind the one sub-batch already running. Declared in priority order.
 */
public enum Lane {
    INTERACTIVE,
    BULK
}

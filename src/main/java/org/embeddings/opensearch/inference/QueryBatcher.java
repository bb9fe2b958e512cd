package org.embeddings.opensearch.inference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Micro-batches concurrent query encodes per model: the first query for a model finds no batch and must schedule one
 * encode task; every query for that model arriving before the task takes its batch joins it. Concurrent queries thus
 * share one inference batch (short texts encode about twice as fast in batches), while a lone query waits for nobody.
 *
 * <p>Each model's waiting list holds at most {@code maxWaiting} queries; one more is refused ({@link Added#FULL}), so
 * that a burst of searches cannot pile up texts in the heap faster than the query lane encodes them.
 */
final class QueryBatcher {
    /** What {@link #add} did with a query. */
    enum Added {
        /** It opened a new batch, whose encode task the caller must now schedule. */
        OPENED,
        /** It joined a batch whose task is scheduled. */
        JOINED,
        /** The model's waiting list is full: the query was not added. */
        FULL
    }

    private final int maxWaiting;
    private final Map<String, List<PendingQuery>> waiting = new HashMap<>();

    QueryBatcher(int maxWaiting) {
        if (maxWaiting < 1) {
            throw new IllegalArgumentException("maxWaiting must be at least 1, got " + maxWaiting);
        }
        this.maxWaiting = maxWaiting;
    }

    synchronized Added add(String model, PendingQuery query) {
        List<PendingQuery> batch = waiting.computeIfAbsent(model, m -> new ArrayList<>());
        if (batch.size() >= maxWaiting) {
            return Added.FULL;
        }
        batch.add(query);
        return batch.size() == 1 ? Added.OPENED : Added.JOINED;
    }

    /** Takes the waiting batch of a model; later queries open the next one. */
    synchronized List<PendingQuery> take(String model) {
        List<PendingQuery> batch = waiting.remove(model);
        return batch == null ? List.of() : batch;
    }

    int maxWaiting() {
        return maxWaiting;
    }
}

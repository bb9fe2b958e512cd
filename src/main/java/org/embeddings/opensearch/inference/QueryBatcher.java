package org.embeddings.opensearch.inference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Micro-batches concurrent query encodes per model: the first query for a model finds no batch and must schedule one
 * encode task; every query for that model arriving before the task takes its batch joins it. Concurrent queries thus
 * share one inference batch (short texts encode about twice as fast in batches), while a lone query waits for nobody.
 */
final class QueryBatcher {
    private final Map<String, List<PendingQuery>> waiting = new HashMap<>();

    /** Adds a query; true when it opened a new batch, whose encode task the caller must now schedule. */
    synchronized boolean add(String model, PendingQuery query) {
        List<PendingQuery> batch = waiting.computeIfAbsent(model, m -> new ArrayList<>());
        batch.add(query);
        return batch.size() == 1;
    }

    /** Takes the waiting batch of a model; later queries open the next one. */
    synchronized List<PendingQuery> take(String model) {
        List<PendingQuery> batch = waiting.remove(model);
        return batch == null ? List.of() : batch;
    }
}

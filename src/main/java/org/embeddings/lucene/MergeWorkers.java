package org.embeddings.lucene;

import java.util.concurrent.ExecutorService;

/**
 * How many threads build one HNSW graph when segments merge, and the executor they run on: Lucene merges a
 * segment's graphs on one thread unless its vectors format is given more workers and an executor
 * ({@code Lucene99HnswVectorsFormat(m, ef, numMergeWorkers, mergeExec)}). {@link #SINGLE} is Lucene's default.
 */
public record MergeWorkers(int count, ExecutorService executor) {
    public static final MergeWorkers SINGLE = new MergeWorkers(1, null);

    public MergeWorkers {
        if (count < 1) {
            throw new IllegalArgumentException("merge workers must be at least 1, got " + count);
        }
        if (count > 1 && executor == null) {
            throw new IllegalArgumentException(count + " merge workers need an executor");
        }
    }

    /** The executor Lucene takes: none for a single worker, which merges on the merging thread. */
    ExecutorService executorOrNull() {
        return count > 1 ? executor : null;
    }
}

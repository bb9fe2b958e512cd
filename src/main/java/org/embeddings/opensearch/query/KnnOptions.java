package org.embeddings.opensearch.query;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

import java.io.IOException;

/**
 * The search knobs of {@code embed_knn}: {@code k} hits, {@code numCandidates} neighbours explored per segment
 * (HNSW's ef_search), hits scoring below {@code minScore} dropped (Lucene's score: (1 + cos) / 2 for cosine), and
 * {@code exact} brute force instead of the graph.
 */
public record KnnOptions(int k, int numCandidates, float minScore, boolean exact) {
    public static final int MAX_K = 10_000;
    public static final int DEFAULT_K = 10;

    public KnnOptions {
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("[k] must be within [1, " + MAX_K + "], got [" + k + "]");
        }
        if (numCandidates < k || numCandidates > MAX_K) {
            throw new IllegalArgumentException("[num_candidates] must be within [k, " + MAX_K + "] = [" + k + ", " + MAX_K + "], got [" + numCandidates + "]");
        }
        if (Float.isNaN(minScore)) {
            throw new IllegalArgumentException("[min_score] must be a number");
        }
    }

    /** Elasticsearch's convention: explore 1.5 x k candidates unless told otherwise. */
    public static int defaultCandidates(int k) {
        return Math.min(MAX_K, Math.max(k, (int) Math.ceil(1.5 * k)));
    }

    public boolean hasMinScore() {
        return minScore != Float.NEGATIVE_INFINITY;
    }

    static KnnOptions readFrom(StreamInput in) throws IOException {
        return new KnnOptions(in.readVInt(), in.readVInt(), in.readFloat(), in.readBoolean());
    }

    void writeTo(StreamOutput out) throws IOException {
        out.writeVInt(k);
        out.writeVInt(numCandidates);
        out.writeFloat(minScore);
        out.writeBoolean(exact);
    }
}

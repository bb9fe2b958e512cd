package org.embeddings.opensearch.query;

import java.io.IOException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

/**
 * The search knobs of {@code embed_knn}: {@code k} hits, {@code numCandidates} neighbours explored per segment
 * (HNSW's ef_search), hits scoring below {@code minScore} dropped (Lucene's score: (1 + cos) / 2 for cosine),
 * {@code exact} brute force instead of the graph, and {@code oversample}: on a quantized field, take
 * {@code k x oversample} candidates from the quantized vectors and rescore them with the float32 vectors (null: the
 * field's default for its quantization; 0: no rescoring, quantized scores).
 */
public record KnnOptions(int k, int numCandidates, float minScore, boolean exact, Float oversample) {
    public static final int MAX_K = 10_000;
    public static final int DEFAULT_K = 10;
    public static final float MAX_OVERSAMPLE = 100f;

    public KnnOptions(int k, int numCandidates, float minScore, boolean exact) {
        this(k, numCandidates, minScore, exact, null);
    }

    public KnnOptions {
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("[k] must be within [1, " + MAX_K + "], got [" + k + "]");
        }
        if (numCandidates < k || numCandidates > MAX_K) {
            throw new IllegalArgumentException("[num_candidates] must be within [k, " + MAX_K + "] = [" + k + ", "
                    + MAX_K + "], got [" + numCandidates + "]");
        }
        if (Float.isNaN(minScore)) {
            throw new IllegalArgumentException("[min_score] must be a number");
        }
        if (oversample != null) {
            if ((oversample != 0f && oversample < 1f) || oversample > MAX_OVERSAMPLE || oversample.isNaN()) {
                throw new IllegalArgumentException("[oversample] must be 0 (no rescoring) or within [1, "
                        + (int) MAX_OVERSAMPLE + "], got [" + oversample + "]");
            }
            if (rescoreCandidates(k, oversample) > MAX_K) {
                throw new IllegalArgumentException(
                        "[k] x [oversample] must be at most " + MAX_K + ", got [" + k + "] x [" + oversample + "]");
            }
        }
    }

    /** The candidates a quantized search returns for rescoring: k x oversample, rounded up. */
    public static int rescoreCandidates(int k, float oversample) {
        return (int) Math.ceil(k * (double) oversample);
    }

    /** Elasticsearch's convention: explore 1.5 x k candidates unless told otherwise. */
    public static int defaultCandidates(int k) {
        return Math.min(MAX_K, Math.max(k, (int) Math.ceil(1.5 * k)));
    }

    public boolean hasMinScore() {
        return minScore != Float.NEGATIVE_INFINITY;
    }

    static KnnOptions readFrom(StreamInput in) throws IOException {
        return new KnnOptions(in.readVInt(), in.readVInt(), in.readFloat(), in.readBoolean(), in.readOptionalFloat());
    }

    void writeTo(StreamOutput out) throws IOException {
        out.writeVInt(k);
        out.writeVInt(numCandidates);
        out.writeFloat(minScore);
        out.writeBoolean(exact);
        out.writeOptionalFloat(oversample);
    }
}

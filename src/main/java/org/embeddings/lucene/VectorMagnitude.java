package org.embeddings.lucene;

import org.apache.lucene.index.VectorSimilarityFunction;

/**
 * Whether Lucene can score a vector of finite components under a similarity, judged by its squared magnitude summed
 * in float, as Lucene's similarity functions sum it (not through {@code VectorUtil}, whose assertions would throw
 * where this is to answer).
 *
 * <p>Finite components are not enough. A squared magnitude that overflows to infinity (components near 1e19 and
 * above) makes cosine scores 0 or NaN and dot products infinite, which JSON renders as the string
 * {@code "Infinity"} and which no ranking can order. Under cosine, a squared magnitude that underflows to 0 (every
 * component below about 1e-23, or all zero) divides by zero: a score of infinity or NaN. So every similarity needs a
 * finite squared magnitude, and cosine also a non-zero one. Dot product and Euclidean distance accept a vector of
 * magnitude 0: their scores stay finite.
 *
 * <p>Documents and {@code query_vector}s go through the same check, so a vector that could be indexed can be
 * searched for and the other way round.
 */
public final class VectorMagnitude {
    private VectorMagnitude() {}

    /** What makes {@code vector} unscorable under {@code similarity}, or null when nothing does. */
    public static String problem(float[] vector, VectorSimilarityFunction similarity) {
        float squared = 0f;
        for (float x : vector) {
            squared += x * x;
        }
        if (Float.isFinite(squared) == false) {
            return "its squared magnitude overflows a float (components too large; keep them well below 1e19)";
        }
        if (squared == 0f && similarity == VectorSimilarityFunction.COSINE) {
            return isZero(vector)
                    ? "it is all zeros, which has no direction for cosine similarity"
                    : "its squared magnitude underflows a float to 0 (components too small; scale the vector up),"
                            + " which leaves cosine similarity no direction";
        }
        return null;
    }

    private static boolean isZero(float[] v) {
        for (float x : v) {
            if (x != 0f) {
                return false;
            }
        }
        return true;
    }
}

package org.embeddings.lucene;

/**
 * How one sub-query's scores are put on a common scale before a weighted sum. Each constant maps the scores of one
 * ranked window to non-negative values (Lucene requires scores that are not negative) and says what a document
 * missing from that window contributes: always 0, which is the window's lowest normalized value, so absence never
 * helps a document.
 *
 * <p>The names users type for the constants are read and written by the query layer, with the plugin's other option
 * labels, so that this package depends on Lucene alone.
 */
public enum Normalization {
    /** (s - min) / (max - min); a window whose scores are all equal maps to 1. */
    MIN_MAX {
        @Override
        float[] apply(float[] scores) {
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (float s : scores) {
                min = Math.min(min, s);
                max = Math.max(max, s);
            }
            float[] out = new float[scores.length];
            for (int i = 0; i < scores.length; i++) {
                out[i] = max > min ? (scores[i] - min) / (max - min) : 1f;
            }
            return out;
        }
    },
    /** s / ||s||₂ over the window. */
    L2 {
        @Override
        float[] apply(float[] scores) {
            double sum = 0;
            for (float s : scores) {
                sum += (double) s * s;
            }
            float norm = (float) Math.sqrt(sum);
            float[] out = new float[scores.length];
            for (int i = 0; i < scores.length; i++) {
                out[i] = norm > 0 ? scores[i] / norm : 0f;
            }
            return out;
        }
    },
    /**
     * (s - mean) / stddev, then shifted so the window's lowest value is 0: the shift is the same for every document
     * of the window, so the order inside it is untouched, and a missing document scores as the lowest one present.
     */
    Z_SCORE {
        @Override
        float[] apply(float[] scores) {
            double mean = 0;
            for (float s : scores) {
                mean += s;
            }
            mean /= Math.max(1, scores.length);
            double var = 0;
            for (float s : scores) {
                var += (s - mean) * (s - mean);
            }
            double std = Math.sqrt(var / Math.max(1, scores.length));
            float[] out = new float[scores.length];
            float min = Float.POSITIVE_INFINITY;
            for (int i = 0; i < scores.length; i++) {
                out[i] = std > 0 ? (float) ((scores[i] - mean) / std) : 0f;
                min = Math.min(min, out[i]);
            }
            for (int i = 0; i < out.length; i++) {
                out[i] -= min;
            }
            return out;
        }
    };

    abstract float[] apply(float[] scores);
}

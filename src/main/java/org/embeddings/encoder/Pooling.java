package org.embeddings.encoder;

import java.util.Arrays;

/**
 * How one row of a model's output becomes one vector. Token-level strategies read a row of hidden states
 * {@code [seqLen, dim]} laid out flat in {@code hidden} at {@code row * seqLen * dim}, with the row's attention mask
 * at {@code row * seqLen} in {@code mask} (1 for a real token, 0 for padding, on either side). {@link #NONE} is for
 * models whose output is already pooled, {@code [batch, dim]}: the row is taken as it is, never pooled twice.
 */
public enum Pooling {
    /** The first real token ([CLS] for BERT-style encoders such as BGE). */
    CLS {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            int maskBase = row * seqLen;
            for (int t = 0; t < seqLen; t++) {
                if (mask[maskBase + t] != 0) {
                    return copyToken(hidden, row, t, seqLen, dim);
                }
            }
            throw noRealToken(row);
        }
    },
    /** Average over real tokens (E5, MiniLM, MPNet). */
    MEAN {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            float[] sum = new float[dim];
            int count = sumTokens(hidden, mask, row, seqLen, dim, sum);
            return scale(sum, 1f / count);
        }
    },
    /** Sum over real tokens divided by the square root of their count (sentence-transformers). */
    MEAN_SQRT_LEN {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            float[] sum = new float[dim];
            int count = sumTokens(hidden, mask, row, seqLen, dim, sum);
            return scale(sum, (float) (1.0 / Math.sqrt(count)));
        }
    },
    /** Element-wise maximum over real tokens. */
    MAX {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            float[] max = new float[dim];
            Arrays.fill(max, Float.NEGATIVE_INFINITY);
            int maskBase = row * seqLen;
            int count = 0;
            for (int t = 0; t < seqLen; t++) {
                if (mask[maskBase + t] == 0) {
                    continue;
                }
                count++;
                int base = (maskBase + t) * dim;
                for (int d = 0; d < dim; d++) {
                    max[d] = Math.max(max[d], hidden[base + d]);
                }
            }
            if (count == 0) {
                throw noRealToken(row);
            }
            return max;
        }
    },
    /** The last real token, as decoder embedders (Qwen3-Embedding) are trained; right under left or right padding. */
    LAST_TOKEN {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            int maskBase = row * seqLen;
            for (int t = seqLen - 1; t >= 0; t--) {
                if (mask[maskBase + t] != 0) {
                    return copyToken(hidden, row, t, seqLen, dim);
                }
            }
            throw noRealToken(row);
        }
    },
    /** The model already pools: its output row is the vector. */
    NONE {
        @Override
        float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim) {
            float[] out = new float[dim];
            System.arraycopy(hidden, row * dim, out, 0, dim);
            return out;
        }

        @Override
        public int outputRank() {
            return 2;
        }
    };

    /**
     * Pools one row. For token-level strategies {@code hidden} is {@code [batch, seqLen, dim]}; for {@link #NONE}
     * it is {@code [batch, dim]} and {@code mask} and {@code seqLen} are not read.
     */
    public final float[] pool(float[] hidden, long[] mask, int row, int seqLen, int dim) {
        return poolTokens(hidden, mask, row, seqLen, dim);
    }

    abstract float[] poolTokens(float[] hidden, long[] mask, int row, int seqLen, int dim);

    /** The rank of the model output this strategy reads: 3 for token states, 2 for already pooled vectors. */
    public int outputRank() {
        return 3;
    }

    public String label() {
        return Labels.of(this);
    }

    /** Parses {@code cls}, {@code mean}, {@code max}, {@code mean_sqrt_len}, {@code last_token}, {@code none}. */
    public static Pooling of(String name) {
        return Labels.parse(Pooling.class, "pooling", name);
    }

    private static float[] copyToken(float[] hidden, int row, int t, int seqLen, int dim) {
        float[] out = new float[dim];
        System.arraycopy(hidden, (row * seqLen + t) * dim, out, 0, dim);
        return out;
    }

    private static int sumTokens(float[] hidden, long[] mask, int row, int seqLen, int dim, float[] sum) {
        int maskBase = row * seqLen;
        int count = 0;
        for (int t = 0; t < seqLen; t++) {
            if (mask[maskBase + t] == 0) {
                continue;
            }
            count++;
            int base = (maskBase + t) * dim;
            for (int d = 0; d < dim; d++) {
                sum[d] += hidden[base + d];
            }
        }
        if (count == 0) {
            throw noRealToken(row);
        }
        return count;
    }

    private static float[] scale(float[] v, float factor) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= factor;
        }
        return v;
    }

    private static IllegalStateException noRealToken(int row) {
        return new IllegalStateException("row " + row + " has no real token in its attention mask");
    }
}

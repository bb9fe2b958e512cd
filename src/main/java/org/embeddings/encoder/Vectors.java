package org.embeddings.encoder;

/** Small vector arithmetic shared by the encoder and its callers. */
public final class Vectors {
    private Vectors() {}

    /** Scales {@code v} in place to unit length, as sentence-transformers' Normalize does (a zero vector stays zero). */
    public static float[] l2Normalize(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += (double) x * x;
        }
        double norm = Math.max(Math.sqrt(sum), 1e-12);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
        return v;
    }
}

package org.embeddings.encoder;

import java.util.Map;

/**
 * Per channel (the last dimension), the largest magnitude each named activation of a graph took on calibration
 * texts: what {@link Int8Quantizer} balances against the weights before quantizing a matmul. Measured by
 * {@link ActivationProbe}; {@link #NONE} quantizes without smoothing.
 */
public record ActivationRanges(Map<String, float[]> absMax) {
    public static final ActivationRanges NONE = new ActivationRanges(Map.of());

    public ActivationRanges {
        absMax = Map.copyOf(absMax);
    }

    /** The per-channel maxima of {@code tensor}, or null when it was not measured. */
    public float[] of(String tensor) {
        return absMax.get(tensor);
    }
}

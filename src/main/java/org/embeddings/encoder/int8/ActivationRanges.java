package org.embeddings.encoder.int8;

import java.util.HashMap;
import java.util.Map;

/**
 * Per channel (the last dimension), the smallest and largest value each named activation of a graph took on
 * calibration texts: what {@link Int8Quantizer} balances against the weights before quantizing a matmul (smoothing
 * reads the magnitudes) and, for {@link ActivationScales#STATIC}, the fixed range of each quantized input. Measured
 * by {@link ActivationProbe}; {@link #NONE} quantizes without smoothing or static ranges.
 */
public record ActivationRanges(Map<String, float[]> min, Map<String, float[]> max) {
    public static final ActivationRanges NONE = new ActivationRanges(Map.of(), Map.of());

    public ActivationRanges {
        if (min.keySet().equals(max.keySet()) == false) {
            throw new IllegalArgumentException("ranges need both ends for the same tensors");
        }
        min = Map.copyOf(min);
        max = Map.copyOf(max);
    }

    /** Ranges symmetric around zero, from per-channel magnitudes alone. */
    public static ActivationRanges ofMagnitudes(Map<String, float[]> absMax) {
        Map<String, float[]> min = new HashMap<>();
        absMax.forEach((name, m) -> {
            float[] neg = new float[m.length];
            for (int j = 0; j < m.length; j++) {
                neg[j] = -m[j];
            }
            min.put(name, neg);
        });
        return new ActivationRanges(min, absMax);
    }

    /** The per-channel largest magnitudes of {@code tensor}, or null when it was not measured. */
    public float[] magnitudes(String tensor) {
        float[] lo = min.get(tensor);
        float[] hi = max.get(tensor);
        if (lo == null) {
            return null;
        }
        float[] m = new float[lo.length];
        for (int j = 0; j < m.length; j++) {
            m[j] = Math.max(Math.abs(lo[j]), Math.abs(hi[j]));
        }
        return m;
    }

    /** The per-channel minima of {@code tensor}, or null. */
    public float[] min(String tensor) {
        return min.get(tensor);
    }

    /** The per-channel maxima of {@code tensor}, or null. */
    public float[] max(String tensor) {
        return max.get(tensor);
    }
}

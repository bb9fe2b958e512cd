package org.embeddings.encoder.int8;

/**
 * What an fp32 model does on the calibration texts ({@link ActivationProbe}): the ranges of its weight matmuls'
 * inputs, which an int8 rewrite smooths and scales by, and each text's fp32 vector, which the int8 build is checked
 * against ({@link Int8Check}).
 */
public record Calibration(ActivationRanges ranges, float[][] vectors) {
    /** No ranges and nothing to check against: an int8 build without smoothing or a self-check (tests, tools). */
    public static final Calibration NONE = new Calibration(ActivationRanges.NONE, new float[0][]);
}

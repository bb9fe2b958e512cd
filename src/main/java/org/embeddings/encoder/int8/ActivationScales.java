package org.embeddings.encoder.int8;

/**
 * How the input of an int8 weight matmul becomes uint8 when the graph runs: what sets the quantization step of an
 * activation, and so whether a text's vector depends on the texts batched with it.
 */
public enum ActivationScales {
    /**
     * One scale per batch tensor from its own minimum and maximum ({@code DynamicQuantizeMatMul}): the largest value
     * of any text in the batch sets every text's step, so a text's vector depends on its batch.
     */
    DYNAMIC_TENSOR,
    /**
     * One fixed scale and zero point per tensor, from the calibration ranges ({@code QuantizeLinear} with constants,
     * then {@code MatMulIntegerToFloat}): the same step for every text in every batch; values outside the calibrated
     * range are clipped.
     */
    STATIC,
    /**
     * One scale per token row from the row's own largest magnitude, symmetric around a zero point of 128: no text
     * sees another's values, and nothing is clipped.
     */
    PER_ROW
}

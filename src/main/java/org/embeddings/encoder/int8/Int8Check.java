package org.embeddings.encoder.int8;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.card.ModelCard;

/**
 * The check every int8 build passes before its file is kept: the int8 graph encodes the calibration texts, each
 * alone and all in one padded batch, and its vectors are compared with the fp32 vectors of the same texts
 * ({@link Calibration}).
 *
 * <p>Contract: a build passes when every text's int8 vector has a cosine of at least {@value #MIN_COSINE} to its
 * fp32 vector, and the same text's vector alone and batched agree to a cosine of at least {@value #BATCH_COSINE}.
 * Why these bounds: a faithful recipe stays above 0.99 on every calibration text of the three models measured
 * (docs/int8.md), while integer kernels that saturate (full-range weights without VNNI) drop texts to 0.95 and
 * below; and a recipe whose scales depend on the batch (per-tensor dynamic scales) moves a text's vector by 1e-3
 * to 1e-2 with its batch, where batch-invariant scales agree to rounding (1e-7). A build below either bound is not
 * kept: the caller tries a safer recipe or refuses the model, so no int8 model is ever quietly wrong.
 */
public final class Int8Check {
    static final double MIN_COSINE = 0.98, BATCH_COSINE = 0.99999;

    /** How the int8 vectors of the calibration texts compare with fp32's, and with themselves batched. */
    public record Result(double minCosine, double medianCosine, double minBatchCosine) {
        public boolean passes() {
            return minCosine >= MIN_COSINE && minBatchCosine >= BATCH_COSINE;
        }

        @Override
        public String toString() {
            return String.format(
                    java.util.Locale.ROOT,
                    "cosine to fp32 min %.4f, median %.4f; alone vs batched min %.7f",
                    minCosine,
                    medianCosine,
                    minBatchCosine);
        }
    }

    private Int8Check() {}

    /**
     * Encodes the calibration texts with the int8 graph {@code int8File} and compares them with {@code reference},
     * on a native thread of its own.
     */
    public static Result run(
            Path int8File, ModelCard card, Path tokenizerJson, SessionSettings settings, float[][] reference) {
        try (NativeThread thread = new NativeThread(card.name() + "-int8-check")) {
            return thread.call(() -> {
                try (ModelTokenizer tokenizer = new ModelTokenizer(tokenizerJson, card.maxTokens());
                        OnnxModel model = new OnnxModel(int8File, card, settings)) {
                    return compare(model, card, ActivationProbe.tokenize(card, tokenizer), reference);
                }
            });
        }
    }

    private static Result compare(OnnxModel model, ModelCard card, Tokens[] tokens, float[][] reference) {
        if (reference.length != tokens.length) {
            throw new IllegalArgumentException(reference.length + " reference vectors for " + tokens.length + " texts");
        }
        int[] order = IntStream.range(0, tokens.length).toArray();
        float[][] batched = pooled(card, model.run(tokens, order, 0, tokens.length));
        double[] cosines = new double[tokens.length];
        double minBatch = 1;
        for (int i = 0; i < tokens.length; i++) {
            float[] alone = pooled(card, model.run(tokens, order, i, i + 1))[0];
            cosines[i] = cosine(alone, reference[i]);
            minBatch = Math.min(minBatch, cosine(alone, batched[i]));
        }
        double[] sorted = cosines.clone();
        Arrays.sort(sorted);
        return new Result(sorted[0], sorted[sorted.length / 2], minBatch);
    }

    /** Each row of {@code out} pooled and normalized as the card says. */
    static float[][] pooled(ModelCard card, OnnxModel.Output out) {
        float[][] vectors = new float[out.batch()][];
        for (int r = 0; r < out.batch(); r++) {
            vectors[r] = out.vector(card, r);
        }
        return vectors;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}

package org.embeddings.encoder;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.embeddings.encoder.card.ModelCard;

/**
 * A second ONNX Runtime session of a model, with fewer intra-op threads, for a query that comes alone. A batch of
 * one short text is a string of small operators; with two intra-op threads each of them wakes the second thread
 * and waits for it, which costs more than the second core gives back on matrices of one row (for an int8 graph,
 * where every weight matmul is bound by reading a quarter of fp32's bytes). One thread runs such a query in about
 * 0.7x the time (docs/performance.md); a batch of documents still wants every core, so the model keeps both.
 *
 * <p>Algorithm: at load both sessions encode each probe text alone, prompted as a query, and the lone session is
 * kept only when every vector equals the batch session's bit for bit. So which session runs a query never changes
 * its vector; where a CPU's kernels would split a sum differently by thread count, the check fails and the model
 * runs every query on its batch session.
 */
public final class LoneQuerySession {
    /** Queries of several lengths, on no benchmark's topic. */
    static final List<String> PROBES = List.of(
            "what time does the museum open on sundays",
            "why do cats purr",
            "how long should bread dough rise before baking, and does the temperature of the kitchen change that"
                    + " much when the recipe uses dried yeast instead of fresh yeast");

    private LoneQuerySession() {}

    /**
     * The lone-query session of {@code onnx} with {@code settings}, or empty when its vectors differ from
     * {@code batches}'. Runs on the model's native thread, like every session call.
     */
    public static Optional<OnnxModel> open(
            Path onnx, ModelCard card, ModelTokenizer tokenizer, OnnxModel batches, SessionSettings settings) {
        OnnxModel lone = new OnnxModel(onnx, card, settings);
        try {
            if (sameVectors(card, tokenizer, batches, lone)) {
                return Optional.of(lone);
            }
        } catch (RuntimeException | Error e) {
            lone.close();
            throw e;
        }
        lone.close();
        return Optional.empty();
    }

    /** Whether {@code a} and {@code b} give every probe, alone, the same vector bit for bit. */
    static boolean sameVectors(ModelCard card, ModelTokenizer tokenizer, OnnxModel a, OnnxModel b) {
        Tokens[] tokens = tokenizer.tokenize(
                PROBES.stream().map(p -> card.prompt().apply(Role.QUERY, p)).toList());
        for (int i = 0; i < tokens.length; i++) {
            int[] order = {i};
            float[] va = a.run(tokens, order, 0, 1).vector(card, 0);
            float[] vb = b.run(tokens, order, 0, 1).vector(card, 0);
            if (Arrays.equals(va, vb) == false) {
                return false;
            }
        }
        return true;
    }
}

package org.embeddings.encoder;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * The package-private parts of {@link Encoder} that benchmarks and evaluations in other packages drive: its ONNX
 * session, its native thread, and tokenizing apart from running. Production code has no such door; it lives with the
 * tests so that {@link Encoder}'s public face stays the encode calls.
 */
public final class EncoderSeam {
    private EncoderSeam() {}

    /** The model's ONNX session, for benchmarks that compare batching policies on the very same session. */
    public static OnnxModel onnx(Encoder encoder) {
        return encoder.onnx();
    }

    /** Runs {@code task} on the encoder's native thread, where its session may be driven. */
    public static <T> T onNativeThread(Encoder encoder, Callable<T> task) {
        return encoder.onNativeThread(task);
    }

    /** The model inputs of {@code texts} for {@code role}, prompted and tokenized. */
    public static Tokens[] tokenize(Encoder encoder, List<String> texts, Role role) {
        return encoder.tokenize(texts, role);
    }

    /** Encodes tokenized inputs in the bulk lane. */
    public static float[][] encodeTokens(Encoder encoder, Tokens[] tokens) {
        return encoder.encodeTokens(tokens);
    }
}

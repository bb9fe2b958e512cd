package org.embeddings.encoder;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Measures the activation ranges that int8 smoothing needs: per channel, the largest magnitude of the input of every
 * weight matmul, over a fixed set of calibration texts.
 *
 * <p>Algorithm: the fp32 graph is copied with each such input added as a graph output, written to a temporary file
 * (so the heap never holds a second copy of the weights) and opened as an ONNX Runtime session; every calibration
 * text ({@code calibration.txt}: short queries, sentences and passages, each
 * with the card's prompt for its role) runs alone, so no padding row enters the maxima, and each output's absolute
 * values are folded per channel. The texts are part of the int8 rewrite: changing them changes every int8 file, so
 * it needs a new {@link Int8Quantizer#VERSION}.
 *
 * <p>Runs its native code (tokenizer and session) on a {@link NativeThread} of its own that ends with the call.
 * Costs one extra fp32 session for the duration of the call, and about a second of inference for a small model.
 */
public final class ActivationProbe {
    private static final String TEXTS = "calibration.txt";

    private ActivationProbe() {}

    /** A calibration text and the role whose prompt it gets. */
    record Text(Role role, String text) {}

    /** The calibration texts shipped with the encoder. */
    static List<Text> texts() {
        try (InputStream in = ActivationProbe.class.getResourceAsStream(TEXTS)) {
            if (in == null) {
                throw new IllegalStateException("the calibration texts " + TEXTS + " are missing from the build");
            }
            List<Text> texts = new ArrayList<>();
            for (String line : new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                    .lines()
                    .toList()) {
                int tab = line.indexOf('\t');
                if (line.startsWith("#") == false && tab > 0) {
                    texts.add(new Text(
                            Role.valueOf(line.substring(0, tab).toUpperCase(Locale.ROOT)), line.substring(tab + 1)));
                }
            }
            return texts;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The per-channel input ranges of {@code fp32Model}'s weight matmuls on the calibration texts, tokenized with
     * {@code tokenizerJson} and prompted by {@code card}.
     */
    public static ActivationRanges measure(
            byte[] fp32Model, ModelCard card, Path tokenizerJson, SessionSettings settings) {
        try (NativeThread thread = new NativeThread(card.name() + "-calibration")) {
            return thread.call(() -> {
                try (ModelTokenizer tokenizer = new ModelTokenizer(tokenizerJson, card.maxTokens())) {
                    return measure(fp32Model, card, tokenizer, settings);
                }
            });
        }
    }

    private static ActivationRanges measure(
            byte[] fp32Model, ModelCard card, ModelTokenizer tokenizer, SessionSettings settings) {
        ModelProto model = Int8Quantizer.parse(fp32Model, "calibrate");
        GraphProto graph = model.getGraph();
        Set<String> probed = Int8Quantizer.weightMatMulInputs(graph);
        Set<String> outputs = new HashSet<>();
        graph.getOutputList().forEach(v -> outputs.add(v.getName()));
        GraphProto.Builder g = graph.toBuilder();
        TypeProto floatTensor = TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()))
                .build();
        for (String name : probed) {
            if (outputs.contains(name) == false) {
                g.addOutput(ValueInfoProto.newBuilder().setName(name).setType(floatTensor));
            }
        }
        // written to a file, not a second byte array: ONNX Runtime reads it natively, so the Java heap (which a node
        // keeps committed) never holds a second copy of the weights
        Path probing;
        try {
            probing = Files.createTempFile("embeddings-calibration-", ".onnx");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(probing), 1 << 20)) {
                model.toBuilder().setGraph(g).build().writeTo(out);
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot write the graph to calibrate: " + e, e);
        }

        List<Text> texts = texts();
        List<String> prompted = new ArrayList<>(texts.size());
        texts.forEach(t -> prompted.add(card.prompt().apply(t.role(), t.text())));
        Tokens[] tokens = tokenizer.tokenize(prompted);
        Map<String, float[]> absMax = new HashMap<>();
        try (OnnxModel session = new OnnxModel(probing, card, settings)) {
            deleteQuietly(probing); // the session holds the graph now
            int[] order = IntStream.range(0, tokens.length).toArray();
            for (int i = 0; i < order.length; i++) {
                for (Map.Entry<String, OnnxModel.Output> e :
                        session.run(tokens, order, i, i + 1, probed).entrySet()) {
                    float[] values = e.getValue().hidden();
                    int dim = e.getValue().dim();
                    float[] max = absMax.computeIfAbsent(e.getKey(), k -> new float[dim]);
                    for (int v = 0; v < values.length; v++) {
                        max[v % dim] = Math.max(max[v % dim], Math.abs(values[v]));
                    }
                }
            }
        } finally {
            deleteQuietly(probing);
        }
        return new ActivationRanges(absMax);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a temporary file left behind costs disk, not correctness
        }
    }
}

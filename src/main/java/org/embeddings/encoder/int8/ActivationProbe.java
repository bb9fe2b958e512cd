package org.embeddings.encoder.int8;

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
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.card.ModelCard;

/**
 * Measures the activation ranges that int8 smoothing and static scales need: per channel, the smallest and largest
 * value of the input of every weight matmul, over a fixed set of calibration texts (each range includes 0).
 *
 * <p>Algorithm: the fp32 graph is copied with each such input added as a graph output, written to a temporary file
 * (so the heap never holds a second copy of the weights) and opened as an ONNX Runtime session; every calibration
 * text ({@code calibration.txt}: short queries, sentences and passages, each
 * with the card's prompt for its role) runs alone, so no padding row enters the maxima, and each output's
 * values are folded per channel. The texts are part of the int8 rewrite: changing them changes every int8 file, so
 * it needs a new {@link Int8Quantizer#VERSION}.
 *
 * <p>Runs its native code (tokenizer and session) on a {@link NativeThread} of its own that ends with the call.
 * Costs one extra fp32 session for the duration of the call, and about a second of inference for a small model.
 */
public final class ActivationProbe {
    private static final String TEXTS = "/org/embeddings/encoder/calibration.txt";

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
     * {@code tokenizerJson} and prompted by {@code card}, and the fp32 vector of each text that an int8 build is
     * checked against ({@link Int8Check}).
     */
    public static Calibration measure(byte[] fp32Model, ModelCard card, Path tokenizerJson, SessionSettings settings) {
        try (NativeThread thread = new NativeThread(card.name() + "-calibration")) {
            return thread.call(() -> {
                try (ModelTokenizer tokenizer = new ModelTokenizer(tokenizerJson, card.maxTokens())) {
                    return measure(fp32Model, card, tokenizer, settings);
                }
            });
        }
    }

    private static Calibration measure(
            byte[] fp32Model, ModelCard card, ModelTokenizer tokenizer, SessionSettings settings) {
        ModelProto model = GraphIndex.parse(fp32Model, "calibrate");
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

        Tokens[] tokens = tokenize(card, tokenizer);
        Map<String, float[]> min = new HashMap<>();
        Map<String, float[]> max = new HashMap<>();
        Set<String> read = new HashSet<>(probed);
        read.add(card.output());
        float[][] vectors = new float[tokens.length][];
        try (OnnxModel session = new OnnxModel(probing, card, settings)) {
            deleteQuietly(probing); // the session holds the graph now
            int[] order = IntStream.range(0, tokens.length).toArray();
            for (int i = 0; i < order.length; i++) {
                Map<String, OnnxModel.Output> run = session.run(tokens, order, i, i + 1, read);
                vectors[i] = Int8Check.pooled(card, run.get(card.output()))[0];
                for (Map.Entry<String, OnnxModel.Output> e : run.entrySet()) {
                    if (probed.contains(e.getKey()) == false) {
                        continue;
                    }
                    float[] values = e.getValue().hidden();
                    int dim = e.getValue().dim();
                    float[] lo = min.computeIfAbsent(e.getKey(), k -> new float[dim]);
                    float[] hi = max.computeIfAbsent(e.getKey(), k -> new float[dim]);
                    for (int v = 0; v < values.length; v++) {
                        lo[v % dim] = Math.min(lo[v % dim], values[v]);
                        hi[v % dim] = Math.max(hi[v % dim], values[v]);
                    }
                }
            }
        } finally {
            deleteQuietly(probing);
        }
        return new Calibration(new ActivationRanges(min, max), vectors);
    }

    /** The calibration texts, each with the card's prompt for its role, as the model reads them. */
    static Tokens[] tokenize(ModelCard card, ModelTokenizer tokenizer) {
        List<Text> texts = texts();
        List<String> prompted = new ArrayList<>(texts.size());
        texts.forEach(t -> prompted.add(card.prompt().apply(t.role(), t.text())));
        return tokenizer.tokenize(prompted);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a temporary file left behind costs disk, not correctness
        }
    }
}

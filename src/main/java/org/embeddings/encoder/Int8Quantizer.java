package org.embeddings.encoder;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntBinaryOperator;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Rewrites an fp32 ONNX graph into a dynamically quantized int8 graph that ONNX Runtime runs on its integer kernels.
 *
 * <p>Algorithm: every {@code MatMul} whose second input is a constant fp32 matrix {@code W[K, N]} (an initializer
 * that is not also a graph input), and every {@code Gemm} with a constant {@code B} and {@code transA = 0}, becomes
 * one {@code com.microsoft} {@code DynamicQuantizeMatMul}: the weights are stored as int8, symmetric, per output
 * channel ({@code scale[n] = max_k |W[k, n]| / 127}, zero point 0), and the activations are quantized per tensor to
 * uint8 at run time by the operator itself, so the product runs as an integer GEMM (u8 x s8, VNNI where the CPU
 * has it) and comes back as fp32. A bias is folded into the operator's {@code bias} input when it is safe: the
 * MatMul's output has exactly one consumer, an {@code Add} whose other input is a constant vector of length N, and
 * is not a graph output; a Gemm's {@code C} is folded when it is such a vector ({@code beta} applied to it,
 * {@code alpha} to the weight scales, {@code transB} by transposing the weights before quantizing). Everything else
 * (attention's activation-by-activation MatMuls, layer norms, embeddings lookups, GELU) stays fp32. A weight shared
 * by several nodes is quantized once. The fp32 weights that no node reads any more are dropped, so the file
 * shrinks by about three quarters of its matrix bytes.
 *
 * <p>Smoothing: given {@link ActivationRanges} (measured by {@link ActivationProbe}), a quantized matmul whose input
 * is a layer norm's output reads {@code X / s} instead of {@code X} (one {@code Mul} per such input, shared by its
 * quantized readers) and its weights are {@code diag(s) W}, with {@code s[j] = sqrt(max|X[:, j]| / max|W[j, :]|)}:
 * the product is unchanged in exact arithmetic, but the few channels that are outliers in every token (channel 99
 * of e5-small-v2's layer norms reaches 30 where the median channel's maximum is 1.7) no longer set the single
 * per-tensor step of the activations' uint8 quantization.
 *
 * <p>Before quantizing, each residual sum and the layer norm that reads it become one {@code SkipLayerNormalization}
 * ({@link SkipLayerNormFusion}): with the weight matmuls on integer kernels, ONNX Runtime's slow fp32 layer norm
 * kernel was the largest share of what was left. After quantizing, a model pooled by its first token alone has its
 * last layer cut down to that token ({@link #firstTokenOnly()}, {@link FirstTokenPruning}).
 *
 * <p>Which weight matmuls stay fp32 is the caller's {@link Predicate} over {@link WeightMatMul}; {@link #RECIPE} is
 * the one chosen by measurement (docs/int8.md). The quantizer only reads and writes ONNX protobuf (through the
 * generated {@code onnx.proto} classes of {@code tribuo-util-onnx}); it never runs the graph.
 *
 * <p>Integer kernels without VNNI (plain AVX2) multiply u8 x s8 through 16-bit intermediate sums that can
 * saturate; this rewrite targets the VNNI CPUs it was measured on.
 */
public final class Int8Quantizer {
    public static final String MS_DOMAIN = "com.microsoft";
    /**
     * Identifies what this class writes: part of the cache key of quantized files, so a changed rewrite or recipe
     * never reuses a file written by an older one. Bump it whenever the output bytes would change.
     */
    public static final String VERSION = "5";
    /** Metadata key the rewritten model carries, with {@link #VERSION} and the counts as its value. */
    public static final String METADATA_KEY = "embeddings.int8";

    /** A MatMul or Gemm with constant weights: its node name, its position among them in graph order, its shape. */
    public record WeightMatMul(String node, int index, int count, int rows, int cols) {}

    /** The rewritten model and what was done. */
    public record Result(byte[] model, int quantized, int keptFp32, int biasesFolded, int smoothed) {}

    /** Suffix of a smoothed activation, {@code X / s}, the input of the quantized matmuls that read {@code X}. */
    private static final String SMOOTHED = "_smoothed";

    /**
     * The recipe chosen by measurement (docs/int8.md): every weight matmul in int8, with the layer norms' outputs
     * smoothed ({@link ActivationRanges}). Before smoothing, all-int8 cost 0.21 to 0.26 STSB Spearman on
     * all-minilm-l6-v2 and e5-small-v2 and the attention output projections had to stay fp32; with smoothing every
     * model's int8 vectors are closer to fp32 with none kept (bge-small-en-v1.5: median cosine 0.9983 against
     * 0.9973), and the integer kernels do all the weight FLOPs. A card can still keep named matmuls fp32
     * ({@link #keeping}).
     */
    public static final Predicate<WeightMatMul> RECIPE = w -> false;

    private final Predicate<WeightMatMul> keepFp32;
    private final int maxLevel;
    private final boolean firstTokenOnly;

    /** @param keepFp32 true for the weight matmuls that stay fp32 */
    public Int8Quantizer(Predicate<WeightMatMul> keepFp32) {
        this(keepFp32, false);
    }

    /**
     * @param reduceRange weights in [-64, 64] (7 bits) instead of [-127, 127], so that the u8 x s8 products of two
     *                    neighbouring weights cannot overflow a 16-bit sum in integer kernels without VNNI
     */
    public Int8Quantizer(Predicate<WeightMatMul> keepFp32, boolean reduceRange) {
        this(keepFp32, reduceRange ? 64 : 127, false);
    }

    private Int8Quantizer(Predicate<WeightMatMul> keepFp32, int maxLevel, boolean firstTokenOnly) {
        this.keepFp32 = keepFp32;
        this.maxLevel = maxLevel;
        this.firstTokenOnly = firstTokenOnly;
    }

    /**
     * This recipe for a model whose encoder reads only the first position of the output ([CLS] pooling, right
     * padding): the last layer is also cut down to that position ({@link FirstTokenPruning}).
     */
    public Int8Quantizer firstTokenOnly() {
        return new Int8Quantizer(keepFp32, maxLevel, true);
    }

    public static Int8Quantizer recipe() {
        return new Int8Quantizer(RECIPE);
    }

    /** The recipe of a card's {@code int8_fp32}: the weight matmuls whose node names it finds stay fp32. */
    public static Int8Quantizer keeping(String fp32NodePattern) {
        Pattern pattern = Pattern.compile(fp32NodePattern);
        return new Int8Quantizer(w -> pattern.matcher(w.node()).find());
    }

    /** A MatMul/Gemm this rewrite can quantize, and how its weights and bias map onto DynamicQuantizeMatMul. */
    private record Candidate(
            int node, String weight, boolean transposed, float alpha, String bias, float beta, int rows, int cols) {}

    /** The rewritten model as bytes, without smoothing. */
    public Result quantize(byte[] fp32Model) {
        return quantize(fp32Model, ActivationRanges.NONE);
    }

    /** The rewritten model as bytes, each quantized matmul smoothed where {@code ranges} has its input. */
    public Result quantize(byte[] fp32Model, ActivationRanges ranges) {
        Rewrite r = rewrite(fp32Model, ranges);
        return new Result(r.model().toByteArray(), r.quantized(), r.kept(), r.folded(), r.smoothed());
    }

    /**
     * Writes the rewritten model to {@code out} without building it as one byte array; the result's {@code model} is
     * null. The parsed graph shares the weights' bytes with {@code fp32Model} (protobuf aliasing), so the transient
     * heap is the source's size plus the int8 weights, not three copies.
     */
    public Result quantize(byte[] fp32Model, ActivationRanges ranges, OutputStream out) throws IOException {
        Rewrite r = rewrite(fp32Model, ranges);
        r.model().writeTo(out);
        return new Result(null, r.quantized(), r.kept(), r.folded(), r.smoothed());
    }

    private record Rewrite(ModelProto model, int quantized, int kept, int folded, int smoothed) {}

    /** The activations that weight matmuls this rewrite can quantize read: what {@link ActivationProbe} measures. */
    static Set<String> weightMatMulInputs(GraphProto graph) {
        Map<String, TensorProto> constants = new GraphIndex(graph).initializers;
        Set<String> inputs = new LinkedHashSet<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            if (candidate(i, graph.getNode(i), constants) != null) {
                inputs.add(graph.getNode(i).getInput(0));
            }
        }
        return inputs;
    }

    /**
     * Parses an ONNX model whose tensors keep sharing {@code bytes} (protobuf aliasing), so a parsed graph costs no
     * second copy of its weights; {@code purpose} names what the caller was doing, for the error.
     */
    static ModelProto parse(byte[] bytes, String purpose) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read the ONNX model to " + purpose + ": " + e.getMessage(), e);
        }
    }

    private Rewrite rewrite(byte[] fp32Model, ActivationRanges ranges) {
        ModelProto model = parse(fp32Model, "quantize");
        SkipLayerNormFusion.Result fusion = SkipLayerNormFusion.fuse(model.getGraph());
        GraphProto graph = fusion.graph();
        Set<String> graphInputs = new HashSet<>();
        graph.getInputList().forEach(v -> graphInputs.add(v.getName()));
        GraphIndex index = new GraphIndex(graph);
        // only initializers are weights: a Constant node's value is left to ONNX Runtime
        Map<String, TensorProto> constants = index.initializers;
        Set<String> graphOutputs = index.outputs;
        Map<String, List<Integer>> consumers = index.readers;

        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            Candidate c = candidate(i, graph.getNode(i), constants);
            if (c != null) {
                candidates.add(c);
            }
        }
        if (candidates.isEmpty()) {
            throw new InvalidInputException(
                    "the ONNX graph has no MatMul or Gemm with constant fp32 weights, so there is nothing to quantize to int8 "
                            + "(is it already quantized?)");
        }

        Map<Integer, Candidate> byNode = new HashMap<>();
        int kept = 0;
        for (int k = 0; k < candidates.size(); k++) {
            Candidate c = candidates.get(k);
            NodeProto node = graph.getNode(c.node());
            if (keepFp32.test(new WeightMatMul(node.getName(), k, candidates.size(), c.rows(), c.cols()))) {
                kept++;
            } else {
                byNode.put(c.node(), c);
            }
        }

        // A MatMul whose only consumer is "+ constant vector[N]" takes that vector as its bias: one node instead of
        // two.
        Map<Integer, String> foldedBias = new HashMap<>();
        Set<Integer> removedAdds = new HashSet<>();
        for (Candidate c : byNode.values()) {
            NodeProto node = graph.getNode(c.node());
            if (node.getOpType().equals("MatMul") == false) {
                continue;
            }
            String out = node.getOutput(0);
            List<Integer> users = consumers.getOrDefault(out, List.of());
            if (graphOutputs.contains(out) || users.size() != 1) {
                continue;
            }
            NodeProto add = graph.getNode(users.get(0));
            if (add.getOpType().equals("Add") == false
                    || add.getDomain().isEmpty() == false
                    || add.getInputCount() != 2) {
                continue;
            }
            String other = add.getInput(0).equals(out) ? add.getInput(1) : add.getInput(0);
            TensorProto bias = constants.get(other);
            if (other.equals(out) == false && isFloatVector(bias, c.cols())) {
                foldedBias.put(c.node(), other);
                removedAdds.add(users.get(0));
            }
        }

        Map<String, float[]> smoothing = smoothing(byNode.values(), graph, constants, index.producers, ranges);

        Map<String, TensorProto> added = new LinkedHashMap<>();
        Map<String, String[]> quantizedWeights = new HashMap<>(); // weight key -> {int8, scale, zero point} names
        Set<String> smoothedInputs = new HashSet<>();
        List<NodeProto> nodes = new ArrayList<>(graph.getNodeCount());
        Set<String> vanished = new HashSet<>();
        int folded = 0;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto node = graph.getNode(i);
            if (removedAdds.contains(i)) {
                continue;
            }
            Candidate c = byNode.get(i);
            if (c == null) {
                nodes.add(node);
                continue;
            }
            String input = node.getInput(0);
            float[] smooth = smoothing.get(input);
            if (smooth != null && smoothedInputs.add(input)) {
                // X / s once per input, just before its first quantized reader; fp32 readers keep reading X
                String inverse = input + SMOOTHED + "_inverse_scale";
                float[] inv = new float[smooth.length];
                for (int j = 0; j < inv.length; j++) {
                    inv[j] = 1f / smooth[j];
                }
                added.put(inverse, floatTensor(inverse, inv));
                nodes.add(NodeProto.newBuilder()
                        .setName(input + SMOOTHED)
                        .setOpType("Mul")
                        .addInput(input)
                        .addInput(inverse)
                        .addOutput(input + SMOOTHED)
                        .build());
            }
            String[] q = quantizedWeights.computeIfAbsent(
                    c.weight()
                            + (c.transposed() ? "|T" : "")
                            + (c.alpha() == 1f ? "" : "|a" + c.alpha())
                            + (smooth == null ? "" : "|s" + input),
                    key -> quantizeWeight(constants.get(c.weight()), c, smooth == null ? null : input, smooth, added));
            String bias = null;
            String output = node.getOutput(0);
            if (node.getOpType().equals("Gemm")) {
                bias = c.bias() == null ? null : biasVector(constants.get(c.bias()), c.beta(), c.cols(), added);
            } else if (foldedBias.containsKey(i)) {
                bias = foldedBias.get(i);
                NodeProto add = graph.getNode(consumers.get(output).get(0));
                vanished.add(output);
                output = add.getOutput(0);
            }
            NodeProto.Builder replacement = NodeProto.newBuilder()
                    .setName(node.getName() + "_int8")
                    .setOpType("DynamicQuantizeMatMul")
                    .setDomain(MS_DOMAIN)
                    .addInput(smooth == null ? input : input + SMOOTHED)
                    .addInput(q[0])
                    .addInput(q[1])
                    .addInput(q[2])
                    .addOutput(output);
            if (bias != null) {
                replacement.addInput(bias);
                folded++;
            }
            nodes.add(replacement.build());
        }

        Set<String> read = new HashSet<>(graphOutputs);
        nodes.forEach(n -> read.addAll(n.getInputList()));
        GraphProto.Builder g = graph.toBuilder().clearNode().addAllNode(nodes).clearInitializer();
        for (TensorProto t : graph.getInitializerList()) {
            if (read.contains(t.getName()) || graphInputs.contains(t.getName())) {
                g.addInitializer(t);
            }
        }
        added.values().forEach(g::addInitializer);
        // shapes recorded for tensors that no node produces any more would describe nothing
        List<ValueInfoProto> info = new ArrayList<>(graph.getValueInfoList());
        info.removeIf(v -> vanished.contains(v.getName()));
        g.clearValueInfo().addAllValueInfo(info);

        boolean cut = false;
        if (firstTokenOnly) {
            FirstTokenPruning.Result pruning = FirstTokenPruning.prune(g.build(), model.getOpsetImportList());
            cut = pruning.pruned();
            g = pruning.graph().toBuilder();
        }

        int quantized = byNode.size();
        int smoothed = (int) byNode.values().stream()
                .filter(c -> smoothing.containsKey(graph.getNode(c.node()).getInput(0)))
                .count();
        ModelProto.Builder out = importingMsDomain(model.toBuilder().setGraph(g));
        out.addMetadataProps(StringStringEntryProto.newBuilder()
                .setKey(METADATA_KEY)
                .setValue("version=" + VERSION + " quantized=" + quantized + " fp32=" + kept + " biases_folded="
                        + folded + " smoothed=" + smoothed + " skip_layer_norms=" + fusion.fused()
                        + " first_token_only="
                        + cut));
        return new Rewrite(out.build(), quantized, kept, folded, smoothed);
    }

    private static Candidate candidate(int index, NodeProto node, Map<String, TensorProto> constants) {
        if (node.getDomain().isEmpty() == false || node.getInputCount() < 2) {
            return null;
        }
        if (constants.containsKey(node.getInput(0))) {
            return null; // a constant left operand is folded by ONNX Runtime, not worth an integer kernel
        }
        TensorProto w = constants.get(node.getInput(1));
        if (w == null || w.getDataType() != TensorProto.DataType.FLOAT.getNumber() || w.getDimsCount() != 2) {
            return null;
        }
        int rows = Math.toIntExact(w.getDims(0));
        int cols = Math.toIntExact(w.getDims(1));
        switch (node.getOpType()) {
            case "MatMul":
                return new Candidate(index, w.getName(), false, 1f, null, 1f, rows, cols);
            case "Gemm": {
                if (intAttr(node, "transA", 0) != 0) {
                    return null;
                }
                boolean transB = intAttr(node, "transB", 0) != 0;
                int k = transB ? cols : rows;
                int n = transB ? rows : cols;
                String c = node.getInputCount() > 2 && node.getInput(2).isEmpty() == false ? node.getInput(2) : null;
                if (c != null && isFloatVector(constants.get(c), n) == false) {
                    return null; // a C that is not a per-column bias (a full matrix, a scalar) stays with the fp32 Gemm
                }
                return new Candidate(
                        index, w.getName(), transB, floatAttr(node, "alpha", 1f), c, floatAttr(node, "beta", 1f), k, n);
            }
            default:
                return null;
        }
    }

    /** A constant fp32 tensor of exactly {@code n} values laid out as {@code [n]} or {@code [1, n]}. */
    private static boolean isFloatVector(TensorProto t, int n) {
        if (t == null || t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) {
            return false;
        }
        List<Long> dims = t.getDimsList();
        return (dims.size() == 1 && dims.get(0) == n) || (dims.size() == 2 && dims.get(0) == 1 && dims.get(1) == n);
    }

    /**
     * Smoothing factors per input tensor (SmoothQuant, Xiao et al. 2023): {@code s[j] = sqrt(max|X[:, j]| /
     * max|W[j, :]|)} over every quantized matmul that reads {@code X}, so that {@code (X / s) (diag(s) W)} equals
     * {@code X W} while a channel that is an outlier in the activations (one channel of a layer norm's output at 15
     * to 18 times the median in e5-small-v2) no longer sets the one quantization step of the whole tensor: half of
     * its range moves into the weights, which are quantized per output column. Inputs without measured ranges, or
     * whose width is not every reader's weight rows, are not smoothed. Only layer norms' outputs are smoothed: their
     * outlier channels are the same in every token (a property of the gain and the residual stream), which is what a
     * per-channel factor can move into the weights. The other weight matmul inputs (attention contexts, GELU
     * outputs) have outliers in a few tokens at varying channels; smoothing them by their calibration maxima made
     * e5-small-v2's int8 vectors less faithful, not more (docs/int8.md).
     */
    private static Map<String, float[]> smoothing(
            Collection<Candidate> quantized,
            GraphProto graph,
            Map<String, TensorProto> constants,
            Map<String, NodeProto> producers,
            ActivationRanges ranges) {
        Map<String, List<Candidate>> byInput = new LinkedHashMap<>();
        for (Candidate c : quantized) {
            byInput.computeIfAbsent(graph.getNode(c.node()).getInput(0), k -> new ArrayList<>())
                    .add(c);
        }
        Map<String, float[]> smoothing = new HashMap<>();
        for (Map.Entry<String, List<Candidate>> e : byInput.entrySet()) {
            float[] xMax = ranges.of(e.getKey());
            if (xMax == null
                    || SkipLayerNormFusion.isLayerNormOutput(e.getKey(), producers, constants) == false
                    || e.getValue().stream().anyMatch(c -> c.rows() != xMax.length)) {
                continue;
            }
            float[] wMax = new float[xMax.length];
            for (Candidate c : e.getValue()) {
                float[] values = floats(constants.get(c.weight()));
                IntBinaryOperator at = elementAt(c);
                for (int r = 0; r < c.rows(); r++) {
                    for (int j = 0; j < c.cols(); j++) {
                        wMax[r] = Math.max(wMax[r], Math.abs(values[at.applyAsInt(r, j)]));
                    }
                }
            }
            float[] s = new float[xMax.length];
            for (int r = 0; r < s.length; r++) {
                s[r] = xMax[r] > 0 && wMax[r] > 0 ? (float) Math.sqrt(xMax[r] / wMax[r]) : 1f;
            }
            smoothing.put(e.getKey(), s);
        }
        return smoothing;
    }

    /** Element (row r, column j) of the [K, N] matrix the integer kernel multiplies by, in the weight's layout. */
    private static IntBinaryOperator elementAt(Candidate c) {
        int k = c.rows();
        int n = c.cols();
        return c.transposed() ? (r, j) -> j * k + r : (r, j) -> r * n + j;
    }

    /**
     * Writes the int8 weights (rows first multiplied by {@code smooth}, when not null), their per-column scales and
     * zero points; returns their three names.
     */
    private String[] quantizeWeight(
            TensorProto w, Candidate c, String smoothedInput, float[] smooth, Map<String, TensorProto> added) {
        float[] values = floats(w);
        int k = c.rows();
        int n = c.cols();
        IntBinaryOperator at = elementAt(c);
        if (smooth != null) {
            float[] scaled = new float[k * n];
            for (int r = 0; r < k; r++) {
                for (int j = 0; j < n; j++) {
                    scaled[r * n + j] = values[at.applyAsInt(r, j)] * smooth[r];
                }
            }
            values = scaled;
            at = (r, j) -> r * n + j;
        }
        float[] scale = new float[n];
        for (int j = 0; j < n; j++) {
            float max = 0;
            for (int r = 0; r < k; r++) {
                max = Math.max(max, Math.abs(values[at.applyAsInt(r, j)]));
            }
            scale[j] = max == 0 ? 1f : max / maxLevel;
        }
        byte[] q = new byte[k * n];
        for (int r = 0; r < k; r++) {
            for (int j = 0; j < n; j++) {
                int v = Math.round(values[at.applyAsInt(r, j)] / scale[j]);
                q[r * n + j] = (byte) Math.max(-maxLevel, Math.min(maxLevel, v));
            }
        }
        for (int j = 0; j < n; j++) {
            scale[j] *= c.alpha();
        }
        String base = w.getName()
                + (c.transposed() ? "_T" : "")
                + (c.alpha() == 1f ? "" : "_alpha")
                + (smoothedInput == null ? "" : "_for_" + smoothedInput);
        String[] names = {base + "_int8", base + "_int8_scale", base + "_int8_zero_point"};
        added.put(names[0], tensor(names[0], TensorProto.DataType.INT8, new long[] {k, n}, q));
        added.put(names[1], floatTensor(names[1], scale));
        added.put(names[2], tensor(names[2], TensorProto.DataType.INT8, new long[] {n}, new byte[n]));
        return names;
    }

    /** A Gemm's C as the operator's 1-D bias, scaled by beta when beta is not 1 or reshaped when it is {@code [1, n]}. */
    private static String biasVector(TensorProto c, float beta, int n, Map<String, TensorProto> added) {
        if (beta == 1f && c.getDimsCount() == 1) {
            return c.getName();
        }
        String name = c.getName() + "_bias" + (beta == 1f ? "" : "_beta");
        if (added.containsKey(name) == false) {
            float[] values = floats(c);
            for (int j = 0; j < n; j++) {
                values[j] *= beta;
            }
            added.put(name, floatTensor(name, values));
        }
        return name;
    }

    static float[] floats(TensorProto t) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new ModelLoadException("tensor [" + t.getName()
                    + "] keeps its data in an external file; int8 quantization needs the weights inside model.onnx");
        }
        long count = 1;
        for (long d : t.getDimsList()) {
            count *= d;
        }
        float[] values = new float[Math.toIntExact(count)];
        if (t.getRawData().isEmpty() == false) {
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().get(values);
        } else {
            for (int i = 0; i < values.length; i++) {
                values[i] = t.getFloatData(i);
            }
        }
        return values;
    }

    private static TensorProto tensor(String name, TensorProto.DataType type, long[] dims, byte[] raw) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setName(name)
                .setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    private static TensorProto floatTensor(String name, float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        return tensor(name, TensorProto.DataType.FLOAT, new long[] {values.length}, raw.array());
    }

    /** {@code model}, importing the {@code com.microsoft} operator domain if it did not already. */
    static ModelProto.Builder importingMsDomain(ModelProto.Builder model) {
        if (model.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals(MS_DOMAIN))) {
            model.addOpsetImport(
                    OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        }
        return model;
    }

    static long intAttr(NodeProto node, String name, long fallback) {
        for (AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    static float floatAttr(NodeProto node, String name, float fallback) {
        for (AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return fallback;
    }
}

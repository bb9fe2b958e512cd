package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.card.ModelCard;

/**
 * Rewrites an fp32 ONNX graph into an int8 graph that ONNX Runtime runs on its integer kernels.
 *
 * <p>Algorithm: every {@code MatMul} whose second input is a constant fp32 matrix {@code W[K, N]} (an initializer
 * that is not also a graph input), and every {@code Gemm} with a constant {@code B} and {@code transA = 0}, becomes
 * an integer matmul with fp32 output: the weights are stored as int8, symmetric, per output channel
 * ({@code scale[n] = max_k |W[k, n]| / L}, zero point 0, {@code L} = 127, or 64 where the CPU's integer kernels
 * would saturate on 8-bit weights: {@link IntegerKernels}), and the input is quantized to uint8 as
 * {@link ActivationScales} says: by fixed scales from the calibration ranges ({@code QuantizeLinear} with constant
 * scale and zero point, then {@code com.microsoft MatMulIntegerToFloat}), by one scale per token row, or, as before
 * version 6, by one scale per batch tensor ({@code DynamicQuantizeMatMul}). A bias is folded into the operator's
 * {@code bias} input when it is safe: the MatMul's output has exactly one consumer, an {@code Add} whose other input
 * is a constant vector of length N, and is not a graph output; a Gemm's {@code C} is folded when it is such a vector
 * ({@code beta} applied to it, {@code alpha} to the weight scales, {@code transB} by transposing the weights before
 * quantizing). With per-row scales the bias is added after the operator, which scales its whole output by the row
 * scale. Everything else (attention's activation-by-activation MatMuls, layer norms, embeddings lookups, GELU) stays
 * fp32. A weight shared by several nodes is quantized once, and an input read by several quantized matmuls is
 * quantized once. The fp32 weights that no node reads any more are dropped, so the file shrinks by about three
 * quarters of its matrix bytes.
 *
 * <p>Smoothing: given {@link ActivationRanges} (measured by {@link ActivationProbe}), a quantized matmul whose input
 * is a layer norm's output reads {@code X / s} instead of {@code X} (one {@code Mul} per such input, shared by its
 * quantized readers) and its weights are {@code diag(s) W}, with {@code s[j] = sqrt(max|X[:, j]| / max|W[j, :]|)}:
 * the product is unchanged in exact arithmetic, but the few channels that are outliers in every token (channel 99
 * of e5-small-v2's layer norms reaches 30 where the median channel's maximum is 1.7) no longer set the single step
 * of the activations' uint8 quantization. Static scales are taken from the smoothed ranges, {@code [min_j / s_j,
 * max_j / s_j]} over every channel, widened to include zero and by the recipe's margin.
 *
 * <p>Before quantizing, each residual sum and the layer norm that reads it become one {@code SkipLayerNormalization}
 * ({@link SkipLayerNormFusion}): with the weight matmuls on integer kernels, ONNX Runtime's slow fp32 layer norm
 * kernel was the largest share of what was left. After quantizing, a model pooled by its first token alone has its
 * last layer cut down to that token ({@link #firstTokenOnly()}, {@link FirstTokenPruning}).
 *
 * <p>Which weight matmuls stay fp32 is the caller's {@link Predicate} over {@link WeightMatMul}: none by default, a
 * card's {@code int8_fp32} names the ones it keeps ({@link #keeping}). The quantizer only reads and writes ONNX
 * protobuf (through the generated {@code onnx.proto} classes of {@code tribuo-util-onnx}); it never runs the graph.
 */
public final class Int8Quantizer {
    public static final String MS_DOMAIN = GraphIndex.MS_DOMAIN;
    /**
     * Identifies what this class writes: part of the cache key of quantized files, so a changed rewrite or recipe
     * never reuses a file written by an older one. Bump it whenever the output bytes would change.
     */
    public static final String VERSION = "6";
    /** Metadata key the rewritten model carries, with {@link #VERSION} and the counts as its value. */
    public static final String METADATA_KEY = "embeddings.int8";

    /** A MatMul or Gemm with constant weights: its node name, its position among them in graph order, its shape. */
    public record WeightMatMul(String node, int index, int count, int rows, int cols) {}

    /** The rewritten model and what was done. */
    public record Result(byte[] model, int quantized, int keptFp32, int biasesFolded, int smoothed) {}

    /** Suffix of a smoothed activation, {@code X / s}, the input of the quantized matmuls that read {@code X}. */
    private static final String SMOOTHED = "_smoothed";

    /** The most a weight's int8 level may be: full 8 bits, or 7 for kernels that sum u8 x s8 pairs in 16 bits. */
    static final int FULL_RANGE = 127, REDUCED_RANGE = 64;

    private final Predicate<WeightMatMul> keepFp32;
    private final int maxLevel;
    private final boolean firstTokenOnly;
    private final ActivationScales activations;
    private final float margin;
    /** With static scales, the inputs that take per-row scales instead. */
    private final Predicate<Input> perRow;
    /** Names what the predicates choose, for {@link #key()}: {@code custom} where a caller passed its own. */
    private final String keeps, perRowInputs;

    /**
     * A quantized matmul input, as a recipe's choice between static and per-row scales sees it: whether it is a
     * smoothed layer norm output, its width, and the width of the matmul's output.
     */
    public record Input(boolean smoothed, int width, int outputWidth) {}

    /**
     * The inputs whose values have outliers in a few tokens at varying channels, which a static range serves badly:
     * the feed-forward network's output projection, which reads the wide GELU output ({@code K > N}).
     */
    public static final Predicate<Input> WIDE_INPUTS = in -> in.width() > in.outputWidth();

    /**
     * Every weight matmul but those {@code keepFp32} names in int8, with full-range weights and static scales
     * everywhere.
     */
    public Int8Quantizer(Predicate<WeightMatMul> keepFp32) {
        this(keepFp32, "custom", FULL_RANGE, false, ActivationScales.STATIC, 1f, in -> false, "none");
    }

    private Int8Quantizer(
            Predicate<WeightMatMul> keepFp32,
            String keeps,
            int maxLevel,
            boolean firstTokenOnly,
            ActivationScales activations,
            float margin,
            Predicate<Input> perRow,
            String perRowInputs) {
        this.keepFp32 = keepFp32;
        this.keeps = keeps;
        this.perRowInputs = perRowInputs;
        this.maxLevel = maxLevel;
        this.firstTokenOnly = firstTokenOnly;
        this.activations = activations;
        this.margin = margin;
        this.perRow = perRow;
    }

    /**
     * The recipe chosen by measurement (docs/int8.md): every weight matmul in int8, full-range weights, static scales
     * from the calibration ranges, except per-row scales for the wide GELU outputs ({@link #WIDE_INPUTS}); a card
     * that keeps some matmuls fp32 uses {@link #keeping}.
     */
    public static Int8Quantizer recipe() {
        return new Int8Quantizer(
                w -> false, "all", FULL_RANGE, false, ActivationScales.STATIC, 1f, WIDE_INPUTS, "wide");
    }

    /** {@link #recipe()}, except that the weight matmuls whose node names {@code fp32NodePattern} finds stay fp32. */
    public static Int8Quantizer keeping(String fp32NodePattern) {
        Pattern pattern = Pattern.compile(fp32NodePattern);
        return new Int8Quantizer(
                w -> pattern.matcher(w.node()).find(),
                "keep-"
                        + Int8ModelFiles.sha256(fp32NodePattern.getBytes(StandardCharsets.UTF_8))
                                .substring(0, 12),
                FULL_RANGE,
                false,
                ActivationScales.STATIC,
                1f,
                WIDE_INPUTS,
                "wide");
    }

    /**
     * The int8 recipe of {@code card} on a machine with {@code kernels}: the card's fp32 matmuls kept, 7-bit weights
     * where the integer kernels saturate, the last layer cut to the first token for a [CLS]-pooled model.
     */
    public static Int8Quantizer forCard(ModelCard card, IntegerKernels kernels) {
        Int8Quantizer recipe = card.int8Fp32() == null ? recipe() : keeping(card.int8Fp32());
        if (kernels == IntegerKernels.SATURATING) {
            recipe = recipe.reducedRange();
        }
        return card.poolsFirstTokenOnly() ? recipe.firstTokenOnly() : recipe;
    }

    /**
     * This recipe for a model whose encoder reads only the first position of the output ([CLS] pooling, right
     * padding): the last layer is also cut down to that position ({@link FirstTokenPruning}).
     */
    public Int8Quantizer firstTokenOnly() {
        return new Int8Quantizer(keepFp32, keeps, maxLevel, true, activations, margin, perRow, perRowInputs);
    }

    /**
     * This recipe with weights in [-64, 64] (7 bits) instead of [-127, 127], so that the u8 x s8 products of two
     * neighbouring weights cannot overflow the 16-bit sums of integer kernels without VNNI ({@link IntegerKernels}).
     */
    public Int8Quantizer reducedRange() {
        return new Int8Quantizer(
                keepFp32, keeps, REDUCED_RANGE, firstTokenOnly, activations, margin, perRow, perRowInputs);
    }

    /** This recipe with its inputs quantized as {@code scales} says. */
    public Int8Quantizer activations(ActivationScales scales) {
        return new Int8Quantizer(keepFp32, keeps, maxLevel, firstTokenOnly, scales, margin, perRow, perRowInputs);
    }

    /** This recipe with static ranges widened by {@code factor} (1: the calibrated range itself). */
    public Int8Quantizer margin(float factor) {
        if ((factor >= 1f) == false) {
            throw new IllegalArgumentException("a static range margin must be at least 1, got " + factor);
        }
        return new Int8Quantizer(keepFp32, keeps, maxLevel, firstTokenOnly, activations, factor, perRow, perRowInputs);
    }

    /** This recipe with per-row scales for the inputs {@code inputs} names, when its scales are static. */
    public Int8Quantizer perRow(Predicate<Input> inputs) {
        return new Int8Quantizer(keepFp32, keeps, maxLevel, firstTokenOnly, activations, margin, inputs, "custom");
    }

    /** Whether the weights are 7-bit ({@link #reducedRange()}). */
    public boolean isReducedRange() {
        return maxLevel == REDUCED_RANGE;
    }

    /**
     * What this recipe writes, as a file name part: which matmuls stay fp32, how activations are scaled (and which
     * inputs per row), the weights' bits, the first-token cut. Int8 files are cached under it, so a recipe chosen
     * for another CPU (7-bit weights) or changed by a card never reuses another's file.
     */
    public String key() {
        String scales = switch (activations) {
            case DYNAMIC_TENSOR -> "dynamic";
            case STATIC -> "static" + (margin == 1f ? "" : "-m" + margin) + "-row-" + perRowInputs;
            case PER_ROW -> "row";
        };
        return keeps + "-" + scales + (maxLevel == REDUCED_RANGE ? "-w7" : "-w8")
                + (firstTokenOnly ? "-first-token" : "");
    }

    /** A MatMul/Gemm this rewrite can quantize, and how its weights and bias map onto the integer operator. */
    private record Candidate(
            int node, String weight, boolean transposed, float alpha, String bias, float beta, int rows, int cols) {}

    /** The rewritten model as bytes, without smoothing (and with per-row scales where no range is known). */
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

    /** Parses a model without copying its weights ({@link GraphIndex#parse}). */
    static ModelProto parse(byte[] bytes, String purpose) {
        return GraphIndex.parse(bytes, purpose);
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

        long opset = GraphIndex.onnxOpset(model.getOpsetImportList());
        InputQuantizer inputs = new InputQuantizer(activations, ranges, margin, opset);
        Map<String, String[]> quantizedWeights = new HashMap<>(); // weight key -> {int8, scale} names
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
                inputs.initializer(GraphIndex.floatTensor(inverse, inv));
                nodes.add(NodeProto.newBuilder()
                        .setName(input + SMOOTHED)
                        .setOpType("Mul")
                        .addInput(input)
                        .addInput(inverse)
                        .addOutput(input + SMOOTHED)
                        .build());
            }
            String x = smooth == null ? input : input + SMOOTHED;
            InputQuantizer.Quantized qx = inputs.quantized(
                    input, x, c.rows(), smooth, perRow.test(new Input(smooth != null, c.rows(), c.cols())), nodes);
            String[] q = quantizedWeights.computeIfAbsent(
                    c.weight()
                            + (c.transposed() ? "|T" : "")
                            + (c.alpha() == 1f ? "" : "|a" + c.alpha())
                            + (smooth == null ? "" : "|s" + input),
                    key -> quantizeWeight(constants.get(c.weight()), c, smooth == null ? null : input, smooth, inputs));
            String bias = null;
            String output = node.getOutput(0);
            if (node.getOpType().equals("Gemm")) {
                bias = c.bias() == null ? null : biasVector(constants.get(c.bias()), c.beta(), c.cols(), inputs);
            } else if (foldedBias.containsKey(i)) {
                bias = foldedBias.get(i);
                NodeProto add = graph.getNode(consumers.get(output).get(0));
                vanished.add(output);
                output = add.getOutput(0);
            }
            if (bias != null) {
                folded++;
            }
            nodes.addAll(inputs.matMul(node.getName(), qx, q[0], q[1], c.cols(), bias, output));
        }

        Set<String> read = new HashSet<>(graphOutputs);
        nodes.forEach(n -> read.addAll(n.getInputList()));
        GraphProto.Builder g = graph.toBuilder().clearNode().addAllNode(nodes).clearInitializer();
        for (TensorProto t : graph.getInitializerList()) {
            if (read.contains(t.getName()) || graphInputs.contains(t.getName())) {
                g.addInitializer(t);
            }
        }
        inputs.initializers().forEach(g::addInitializer);
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
        ModelProto.Builder out = GraphIndex.importingMsDomain(model.toBuilder().setGraph(g));
        out.addMetadataProps(StringStringEntryProto.newBuilder()
                .setKey(METADATA_KEY)
                .setValue("version=" + VERSION + " recipe=" + key() + " quantized=" + quantized + " fp32=" + kept
                        + " biases_folded=" + folded + " smoothed=" + smoothed + " static_inputs="
                        + inputs.staticInputs() + " per_row_inputs=" + inputs.perRowInputs() + " skip_layer_norms="
                        + fusion.fused() + " first_token_only=" + cut));
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
                if (GraphIndex.intAttr(node, "transA", 0) != 0) {
                    return null;
                }
                boolean transB = GraphIndex.intAttr(node, "transB", 0) != 0;
                int k = transB ? cols : rows;
                int n = transB ? rows : cols;
                String c = node.getInputCount() > 2 && node.getInput(2).isEmpty() == false ? node.getInput(2) : null;
                if (c != null && isFloatVector(constants.get(c), n) == false) {
                    return null; // a C that is not a per-column bias (a full matrix, a scalar) stays with the fp32 Gemm
                }
                return new Candidate(
                        index,
                        w.getName(),
                        transB,
                        GraphIndex.floatAttr(node, "alpha", 1f),
                        c,
                        GraphIndex.floatAttr(node, "beta", 1f),
                        k,
                        n);
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
     * to 18 times the median in e5-small-v2) no longer sets the quantization step of the whole tensor: half of
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
            float[] xMax = ranges.magnitudes(e.getKey());
            if (xMax == null
                    || SkipLayerNormFusion.isLayerNormOutput(e.getKey(), producers, constants) == false
                    || e.getValue().stream().anyMatch(c -> c.rows() != xMax.length)) {
                continue;
            }
            float[] wMax = new float[xMax.length];
            for (Candidate c : e.getValue()) {
                float[] values = GraphIndex.floats(constants.get(c.weight()));
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
     * Writes the int8 weights (rows first multiplied by {@code smooth}, when not null) and their per-column scales;
     * returns their two names. The zero point is 0 and left out: the operators default to it.
     */
    private String[] quantizeWeight(
            TensorProto w, Candidate c, String smoothedInput, float[] smooth, InputQuantizer out) {
        float[] values = GraphIndex.floats(w);
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
        String[] names = {base + "_int8", base + "_int8_scale"};
        out.initializer(GraphIndex.tensor(names[0], TensorProto.DataType.INT8, new long[] {k, n}, q));
        out.initializer(GraphIndex.floatTensor(names[1], scale));
        return names;
    }

    /** A Gemm's C as the operator's 1-D bias, scaled by beta when beta is not 1 or reshaped when it is {@code [1, n]}. */
    private static String biasVector(TensorProto c, float beta, int n, InputQuantizer out) {
        if (beta == 1f && c.getDimsCount() == 1) {
            return c.getName();
        }
        String name = c.getName() + "_bias" + (beta == 1f ? "" : "_beta");
        if (out.hasInitializer(name) == false) {
            float[] values = GraphIndex.floats(c);
            for (int j = 0; j < n; j++) {
                values[j] *= beta;
            }
            out.initializer(GraphIndex.floatTensor(name, values));
        }
        return name;
    }

    /** {@code model}, importing the {@code com.microsoft} operator domain if it did not already. */
    static ModelProto.Builder importingMsDomain(ModelProto.Builder model) {
        return GraphIndex.importingMsDomain(model);
    }
}

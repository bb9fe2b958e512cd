package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the nodes that turn the fp32 input of {@link Int8Quantizer}'s integer matmuls into uint8, once per input,
 * and the integer matmul of each reader; collects the constants they need.
 *
 * <p>Per {@link ActivationScales}:
 * <ul>
 *   <li>{@code STATIC}: {@code Q = QuantizeLinear(X, scale, zero_point)} with constants from the calibrated range of
 *       {@code X} (smoothed, widened to include 0 and by the margin): {@code scale = (hi - lo) / 255},
 *       {@code zero_point = round(-lo / scale)}; each reader is {@code MatMulIntegerToFloat(Q, W, scale, w_scale,
 *       zero_point, , bias)}. An input with no calibrated range falls back to per-row scales.</li>
 *   <li>{@code PER_ROW}: {@code X} is seen as rows {@code [R, C]} (a reshape, no copy); {@code step = max(max(X, 1),
 *       -min(X, 1)) / 127} per row, and one per-axis {@code com.microsoft QuantizeLinear(X, step, 128)} maps each
 *       row to [1, 255] around 128; each reader is {@code MatMulIntegerToFloat(Q, W, step, w_scale, 128)}, which
 *       multiplies its output by the row's step, then the bias is added and the rows get {@code X}'s leading
 *       shape back.</li>
 *   <li>{@code DYNAMIC_TENSOR}: no nodes of its own; each reader is {@code DynamicQuantizeMatMul(X, W, w_scale, ,
 *       bias)}.</li>
 * </ul>
 * Weights carry no zero point: they are symmetric, and both operators default to 0.
 */
final class InputQuantizer {
    /** An input as its integer readers see it: the tensor they read, its scale and zero point, and how. */
    record Quantized(ActivationScales scales, String tensor, String scale, String zeroPoint, String prefix) {}

    /** Below this, a row's step is this: a row of zeros stays zeros instead of dividing by 0. */
    private static final float SMALLEST_STEP = 1e-30f;

    private final ActivationScales scales;
    private final ActivationRanges ranges;
    private final float margin;
    private final long opset;
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final Map<String, Quantized> quantized = new HashMap<>();
    private int staticInputs, perRowInputs;

    /**
     * @param opset the model's ONNX operator set: from 18 on, {@code ReduceMax} and {@code ReduceMin} take their
     *              axes as an input rather than an attribute
     */
    InputQuantizer(ActivationScales scales, ActivationRanges ranges, float margin, long opset) {
        this.scales = scales;
        this.ranges = ranges;
        this.margin = margin;
        this.opset = opset;
    }

    void initializer(TensorProto t) {
        initializers.putIfAbsent(t.getName(), t);
    }

    boolean hasInitializer(String name) {
        return initializers.containsKey(name);
    }

    Collection<TensorProto> initializers() {
        return initializers.values();
    }

    int staticInputs() {
        return staticInputs;
    }

    int perRowInputs() {
        return perRowInputs;
    }

    /**
     * The quantized form of {@code x}, which is {@code source} divided per channel by {@code smooth} (null: not
     * smoothed), with per-row scales where static ones were asked for but {@code preferRow}; the first call for {@code x} appends the nodes that compute it to {@code nodes}.
     */
    Quantized quantized(String source, String x, int width, float[] smooth, boolean preferRow, List<NodeProto> nodes) {
        Quantized q = quantized.get(x);
        if (q == null) {
            q = switch (scales) {
                case DYNAMIC_TENSOR -> new Quantized(ActivationScales.DYNAMIC_TENSOR, x, null, null, null);
                case STATIC -> {
                    float[] range = preferRow ? null : staticRange(source, smooth);
                    yield range == null ? perRow(x, width, nodes) : fixed(x, range, nodes);
                }
                case PER_ROW -> perRow(x, width, nodes);
            };
            quantized.put(x, q);
        }
        return q;
    }

    /** {lo, hi} of {@code source / smooth} over every channel, including 0 and widened by the margin; or null. */
    private float[] staticRange(String source, float[] smooth) {
        float[] min = ranges.min(source);
        float[] max = ranges.max(source);
        if (min == null || (smooth != null && smooth.length != min.length)) {
            return null;
        }
        float lo = 0, hi = 0;
        for (int j = 0; j < min.length; j++) {
            float s = smooth == null ? 1f : smooth[j];
            lo = Math.min(lo, min[j] / s);
            hi = Math.max(hi, max[j] / s);
        }
        return new float[] {lo * margin, hi * margin};
    }

    private Quantized fixed(String x, float[] range, List<NodeProto> nodes) {
        float lo = range[0], hi = range[1];
        float scale = hi > lo ? (hi - lo) / 255f : 1f;
        int zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
        String q = x + "_uint8";
        initializer(GraphIndex.floatTensor(q + "_scale", new long[0], scale));
        initializer(GraphIndex.uint8Scalar(q + "_zero_point", zeroPoint));
        nodes.add(node("QuantizeLinear", q, List.of(x, q + "_scale", q + "_zero_point"), q));
        staticInputs++;
        return new Quantized(ActivationScales.STATIC, q, q + "_scale", q + "_zero_point", null);
    }

    private static final String INVERSE_LEVELS = "int8_row_inverse_127", SMALLEST = "int8_row_smallest_step";
    private static final String MIDDLE = "int8_row_zero_point_128", FLAT = "int8_row_flat";
    private static final String LAST_AXIS = "int8_row_last_axis";
    private static final String ALL_BUT_LAST_STARTS = "int8_row_prefix_starts",
            ALL_BUT_LAST_ENDS = "int8_row_prefix_ends";

    /**
     * Per-row scales: {@code X} is viewed as rows {@code [R, C]} (a reshape, no copy), each row's step is its
     * largest magnitude over 127, and one per-axis {@code com.microsoft QuantizeLinear} quantizes every row by its
     * own step around 128 in one pass.
     */
    private Quantized perRow(String x, int width, List<NodeProto> nodes) {
        initializer(GraphIndex.floatTensor(INVERSE_LEVELS, new long[0], 1f / 127f));
        initializer(GraphIndex.floatTensor(SMALLEST, new long[0], SMALLEST_STEP));
        initializer(GraphIndex.uint8Scalar(MIDDLE, 128));
        initializer(GraphIndex.int64s(FLAT, -1));
        initializer(GraphIndex.int64s(ALL_BUT_LAST_STARTS, 0));
        initializer(GraphIndex.int64s(ALL_BUT_LAST_ENDS, -1));
        String rowsShape = "int8_row_shape_" + width;
        initializer(GraphIndex.int64s(rowsShape, -1, width));
        String r = x + "_row";
        nodes.add(node("Reshape", r + "s", List.of(x, rowsShape), r + "s"));
        nodes.add(reduce("ReduceMax", r + "_max", r + "s"));
        nodes.add(reduce("ReduceMin", r + "_min", r + "s"));
        nodes.add(node("Neg", r + "_min_negated", List.of(r + "_min"), r + "_min_negated"));
        nodes.add(node("Max", r + "_magnitude", List.of(r + "_max", r + "_min_negated"), r + "_magnitude"));
        nodes.add(node("Mul", r + "_step_raw", List.of(r + "_magnitude", INVERSE_LEVELS), r + "_step_raw"));
        nodes.add(node("Max", r + "_step", List.of(r + "_step_raw", SMALLEST), r + "_step"));
        nodes.add(node("Reshape", r + "_steps", List.of(r + "_step", FLAT), r + "_steps"));
        nodes.add(node("Shape", r + "_count", List.of(r + "_steps"), r + "_count"));
        nodes.add(node("Expand", r + "_zero_points", List.of(MIDDLE, r + "_count"), r + "_zero_points"));
        nodes.add(
                msNode("QuantizeLinear", r + "_uint8", List.of(r + "s", r + "_steps", r + "_zero_points"), r + "_uint8")
                        .toBuilder()
                        .addAttribute(AttributeProto.newBuilder()
                                .setName("axis")
                                .setType(AttributeProto.AttributeType.INT)
                                .setI(0))
                        .build());
        // the shape of X without its last axis, to give the matmuls' row outputs their shape back
        nodes.add(node("Shape", r + "_input_shape", List.of(x), r + "_input_shape"));
        nodes.add(node(
                "Slice",
                r + "_prefix",
                List.of(r + "_input_shape", ALL_BUT_LAST_STARTS, ALL_BUT_LAST_ENDS),
                r + "_prefix"));
        perRowInputs++;
        return new Quantized(ActivationScales.PER_ROW, r + "_uint8", r + "_step", MIDDLE, r + "_prefix");
    }

    /** A reduction over the last axis that keeps it, as the model's operator set writes its axes. */
    private NodeProto reduce(String op, String output, String input) {
        NodeProto.Builder b = NodeProto.newBuilder()
                .setName(output)
                .setOpType(op)
                .addInput(input)
                .addOutput(output)
                .addAttribute(AttributeProto.newBuilder()
                        .setName("keepdims")
                        .setType(AttributeProto.AttributeType.INT)
                        .setI(1));
        if (opset >= 18) {
            initializer(GraphIndex.int64s(LAST_AXIS, -1));
            b.addInput(LAST_AXIS);
        } else {
            b.addAttribute(AttributeProto.newBuilder()
                    .setName("axes")
                    .setType(AttributeProto.AttributeType.INTS)
                    .addInts(-1));
        }
        return b.build();
    }

    /**
     * The integer matmul {@code name} of {@code x} by the int8 weights {@code weights} (per-column {@code
     * weightScale}), plus {@code bias} (null: none), writing {@code output}.
     */
    List<NodeProto> matMul(
            String name, Quantized x, String weights, String weightScale, int outputWidth, String bias, String output) {
        List<NodeProto> out = new ArrayList<>(2);
        String b = bias == null ? "" : bias;
        switch (x.scales()) {
            case DYNAMIC_TENSOR ->
                out.add(msNode(
                        "DynamicQuantizeMatMul",
                        name + "_int8",
                        List.of(x.tensor(), weights, weightScale, "", b),
                        output));
            case STATIC ->
                out.add(msNode(
                        "MatMulIntegerToFloat",
                        name + "_int8",
                        List.of(x.tensor(), weights, x.scale(), weightScale, x.zeroPoint(), "", b),
                        output));
            case PER_ROW -> {
                // rows in, rows out: the operator scales its whole output by the row's step (a bias inside it
                // included, so the bias is added after it), then the rows take X's leading shape back
                String rows = output + "_rows";
                out.add(msNode(
                        "MatMulIntegerToFloat",
                        name + "_int8",
                        List.of(x.tensor(), weights, x.scale(), weightScale, x.zeroPoint()),
                        rows));
                if (bias != null) {
                    out.add(node("Add", name + "_int8_bias", List.of(rows, bias), rows + "_biased"));
                    rows = rows + "_biased";
                }
                String width = "int8_row_width_" + outputWidth;
                initializer(GraphIndex.int64s(width, outputWidth));
                out.add(node("Concat", output + "_shape", List.of(x.prefix(), width), output + "_shape").toBuilder()
                        .addAttribute(AttributeProto.newBuilder()
                                .setName("axis")
                                .setType(AttributeProto.AttributeType.INT)
                                .setI(0))
                        .build());
                out.add(node("Reshape", output + "_reshaped", List.of(rows, output + "_shape"), output));
            }
        }
        return out;
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output) {
        return NodeProto.newBuilder()
                .setName(name)
                .setOpType(op)
                .addAllInput(trimmed(inputs))
                .addOutput(output)
                .build();
    }

    private static NodeProto msNode(String op, String name, List<String> inputs, String output) {
        return node(op, name, inputs, output).toBuilder()
                .setDomain(GraphIndex.MS_DOMAIN)
                .build();
    }

    /** The inputs without trailing empty (absent optional) names. */
    private static List<String> trimmed(List<String> inputs) {
        int end = inputs.size();
        while (end > 0 && inputs.get(end - 1).isEmpty()) {
            end--;
        }
        return inputs.subList(0, end);
    }
}

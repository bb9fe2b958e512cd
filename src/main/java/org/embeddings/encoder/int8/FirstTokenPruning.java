package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.embeddings.encoder.OnnxModel;

/**
 * Cuts a post-norm transformer encoder's last layer down to the first token, for models pooled by that token alone
 * ([CLS] pooling with right padding): the pooled vector is the same, and the last layer's query projection,
 * attention output projection, feed-forward network and layer norms run on one row per text instead of all of them.
 *
 * <p>Why: with cls pooling, every position of the last layer but the first is computed and thrown away. On
 * bge-small-en-v1.5's int8 graph (12 layers) that is 7 to 8 % of the work on short texts (docs/int8.md).
 *
 * <p>Algorithm: the last {@code Softmax} of the graph is the last layer's attention. Its scores come from a
 * {@code MatMul} (or {@code FusedMatMul}) of the query by the keys, and its weights multiply the values; each of
 * the three is traced back through {@code Reshape}, {@code Transpose} and arithmetic with a constant to the
 * projection that made it ({@code MatMul}, {@code Gemm}, {@code DynamicQuantizeMatMul} or
 * {@code MatMulIntegerToFloat}). The three must read one tensor {@code X}: the layer's input {@code H}, or {@code H}
 * through element-wise steps by constants that only they read (smoothing's {@code Mul}, a static
 * {@code QuantizeLinear}), and {@code H} must have exactly one other reader: the residual connection. The
 * query projection then reads {@code X[:, 0:1, :]} and the residual reader {@code H[:, 0:1, :]} (two {@code Slice}
 * nodes); keys and values still see every token, so the first token attends exactly as before. Everything after
 * runs on the sliced rows, because the exported graph derives its reshapes from the tensors' own shapes, and the
 * graph's one output becomes {@code [batch, 1, dim]}. Any other shape of graph (no attention found, more than one
 * output, a layer input read elsewhere, the output not downstream of the cut, opset below 10) is returned unchanged.
 *
 * <p>Contract: for the first position, the output equals the source graph's up to rounding; the callers read
 * nothing else ({@link OnnxModel} maps a shorter output back to the first positions of the batch).
 */
public final class FirstTokenPruning {
    private FirstTokenPruning() {}

    /** The rewritten graph, and whether it was cut. */
    record Result(GraphProto graph, boolean pruned) {}

    private static final Set<String> PROJECTIONS =
            Set.of("MatMul", "Gemm", "DynamicQuantizeMatMul", "MatMulIntegerToFloat");

    static Result prune(GraphProto graph, List<OperatorSetIdProto> opsets) {
        long onnxOpset = GraphIndex.onnxOpset(opsets);
        if (graph.getOutputCount() != 1
                || graph.getOutput(0).getType().getTensorType().getShape().getDimCount() != 3
                || onnxOpset < 10) {
            return new Result(graph, false);
        }
        AttentionGraph g = new AttentionGraph(graph);
        Attention a = g.lastAttention();
        Cut cut = a == null ? null : g.cutOf(a);
        if (cut == null) {
            return new Result(graph, false);
        }
        List<NodeProto> nodes = cut.rewire(graph.getNodeList());
        Set<String> cutRows = downstream(nodes, Set.of(cut.xFirst(), cut.hFirst()));
        // What the cut rows may meet: the keys and values of every token, and the mask added to the scores.
        Set<String> allTokens = new HashSet<>(a.masks());
        allTokens.add(a.scores().getInput(1));
        allTokens.add(a.context().getInput(1));
        boolean closed = nodes.stream()
                .filter(n -> n.getOutputList().stream().anyMatch(cutRows::contains))
                .filter(n -> n.getOutput(0).equals(cut.xFirst()) == false
                        && n.getOutput(0).equals(cut.hFirst()) == false)
                .flatMap(n -> n.getInputList().stream())
                .allMatch(in ->
                        in.isEmpty() || cutRows.contains(in) || g.constants.containsKey(in) || allTokens.contains(in));
        if (cutRows.contains(graph.getOutput(0).getName()) == false || closed == false) {
            return new Result(graph, false);
        }
        GraphProto.Builder out = graph.toBuilder().clearNode().addAllNode(nodes);
        out.addInitializer(GraphIndex.int64s(STARTS, 0))
                .addInitializer(GraphIndex.int64s(ENDS, 1))
                .addInitializer(GraphIndex.int64s(AXES, 1));
        // shapes recorded for the cut tensors have a sequence dimension that is now 1
        List<ValueInfoProto> info = new ArrayList<>(graph.getValueInfoList());
        info.removeIf(v -> cutRows.contains(v.getName()));
        out.clearValueInfo().addAllValueInfo(info);
        ValueInfoProto.Builder output = graph.getOutput(0).toBuilder();
        output.getTypeBuilder()
                .getTensorTypeBuilder()
                .getShapeBuilder()
                .setDim(1, TensorShapeProto.Dimension.newBuilder().setDimValue(1));
        return new Result(out.setOutput(0, output).build(), true);
    }

    /**
     * The last attention block: the scores product, the other activations added to or multiplying the scores on
     * their way to the softmax (the attention mask), the context product, and the three projections.
     */
    private record Attention(
            NodeProto scores, Set<String> masks, NodeProto context, NodeProto query, NodeProto key, NodeProto value) {}

    /**
     * Where the cut goes: the query projection reads {@code x} (the layer input {@code h}, or {@code h} times a
     * constant), and {@code residual} is the one other reader of {@code h}.
     */
    private record Cut(NodeProto query, String x, String h, NodeProto residual) {
        String xFirst() {
            return x + "_first_token";
        }

        /** The same tensor as {@link #xFirst()} when nothing scales {@code h}. */
        String hFirst() {
            return h + "_first_token";
        }

        /** The nodes with the two slices in place, in topological order. */
        List<NodeProto> rewire(List<NodeProto> source) {
            List<NodeProto> nodes = new ArrayList<>(source.size() + 2);
            for (NodeProto n : source) {
                if (n == query) {
                    nodes.add(slice(x, xFirst()));
                    if (h.equals(x) == false) {
                        nodes.add(slice(h, hFirst()));
                    }
                    nodes.add(n.toBuilder().setInput(0, xFirst()).build());
                } else if (n == residual) {
                    NodeProto.Builder b = n.toBuilder();
                    for (int k = 0; k < n.getInputCount(); k++) {
                        if (n.getInput(k).equals(h)) {
                            b.setInput(k, hFirst());
                        }
                    }
                    nodes.add(b.build());
                } else {
                    nodes.add(n);
                }
            }
            return nodes;
        }
    }

    private static final String STARTS = "first_token_slice_starts";
    private static final String ENDS = "first_token_slice_ends";
    private static final String AXES = "first_token_slice_axes";

    private static NodeProto slice(String input, String output) {
        return NodeProto.newBuilder()
                .setName(output)
                .setOpType("Slice")
                .addInput(input)
                .addInput(STARTS)
                .addInput(ENDS)
                .addInput(AXES)
                .addOutput(output)
                .build();
    }

    /** Every tensor computed, directly or not, from {@code roots}. */
    private static Set<String> downstream(List<NodeProto> nodes, Set<String> roots) {
        Set<String> reached = new HashSet<>(roots);
        for (NodeProto n : nodes) { // topological order
            if (n.getInputList().stream().anyMatch(reached::contains)) {
                reached.addAll(n.getOutputList());
            }
        }
        return reached;
    }

    /** The graph being cut, and the attention found in it. */
    private static final class AttentionGraph extends GraphIndex {
        AttentionGraph(GraphProto graph) {
            super(graph);
        }

        /**
         * The element-wise steps (scaling, the attention mask's {@code Add}) from {@code tensor} down to the product
         * of two activations it derives from, at most {@code depth} of them, the product last; null when there is
         * none.
         */
        List<NodeProto> scoresPath(String tensor, int depth) {
            NodeProto n = producers.get(tensor);
            if (n == null || depth < 0) {
                return null;
            }
            boolean product = n.getOpType().equals("MatMul") || n.getOpType().equals("FusedMatMul");
            if (product && n.getInputCount() == 2 && activation(n.getInput(0)) && activation(n.getInput(1))) {
                return List.of(n);
            }
            if (Set.of("Add", "Mul", "Div", "Sub").contains(n.getOpType()) == false) {
                return null;
            }
            for (String in : n.getInputList()) {
                List<NodeProto> below = activation(in) ? scoresPath(in, depth - 1) : null;
                if (below != null) {
                    List<NodeProto> path = new ArrayList<>(below.size() + 1);
                    path.add(n);
                    path.addAll(below);
                    return path;
                }
            }
            return null;
        }

        /** The attention of the last {@code Softmax}, when its three projections read one tensor; else null. */
        Attention lastAttention() {
            NodeProto softmax = null;
            for (NodeProto n : graph.getNodeList()) {
                if (n.getOpType().equals("Softmax")) {
                    softmax = n;
                }
            }
            if (softmax == null) {
                return null;
            }
            List<NodeProto> path = scoresPath(softmax.getInput(0), 4);
            List<NodeProto> weighted = readerNodes(softmax.getOutput(0));
            if (path == null || weighted.size() != 1) {
                return null;
            }
            NodeProto scores = path.get(path.size() - 1);
            Set<String> masks = new HashSet<>();
            for (int i = 0; i + 1 < path.size(); i++) {
                List<String> below = path.get(i + 1).getOutputList();
                for (String in : path.get(i).getInputList()) {
                    if (activation(in) && below.contains(in) == false) {
                        masks.add(in);
                    }
                }
            }
            NodeProto context = weighted.get(0);
            if (context.getOpType().equals("MatMul") == false
                    || context.getInput(0).equals(softmax.getOutput(0)) == false) {
                return null;
            }
            NodeProto query = projectionOf(scores.getInput(0));
            NodeProto key = projectionOf(scores.getInput(1));
            NodeProto value = projectionOf(context.getInput(1));
            if (query == null || key == null || value == null || query == key || query == value || key == value) {
                return null;
            }
            String x = query.getInput(0);
            if (key.getInput(0).equals(x) == false || value.getInput(0).equals(x) == false) {
                return null;
            }
            return new Attention(scores, masks, context, query, key, value);
        }

        /**
         * Where to cut {@code a}'s layer, or null when the layer input has readers other than one residual. The
         * projections may read the layer input {@code h} through a chain of row-local steps that only they read:
         * a {@code Mul} by a constant (smoothing) and a {@code QuantizeLinear} with constant scale and zero point
         * (static int8 scales); slicing the chain's last tensor for the query is then exact.
         */
        Cut cutOf(Attention a) {
            String x = a.query().getInput(0);
            Set<NodeProto> chain = new HashSet<>(Set.of(a.query(), a.key(), a.value()));
            String h = x;
            for (int step = 0; step < 4; step++) {
                NodeProto producer = producers.get(h);
                if (producer == null
                        || rowLocal(producer) == false
                        || readerNodes(h).stream().allMatch(chain::contains) == false) {
                    break;
                }
                chain.add(producer);
                h = producer.getInput(0);
            }
            if (outputs.contains(h) || outputs.contains(x)) {
                return null;
            }
            List<NodeProto> residual = new ArrayList<>(readerNodes(h));
            residual.removeIf(chain::contains);
            if (residual.size() != 1
                    || Set.of("Add", "SkipLayerNormalization")
                                    .contains(residual.get(0).getOpType())
                            == false) {
                return null;
            }
            return new Cut(a.query(), x, h, residual.get(0));
        }

        /** An element-wise step by constants: a {@code Mul} by a constant, or a constant {@code QuantizeLinear}. */
        private boolean rowLocal(NodeProto n) {
            return switch (n.getOpType()) {
                case "Mul" ->
                    n.getInputCount() == 2 && activation(n.getInput(0)) && constants.containsKey(n.getInput(1));
                case "QuantizeLinear" ->
                    n.getDomain().isEmpty() && n.getInputList().stream().skip(1).allMatch(constants::containsKey);
                default -> false;
            };
        }

        /**
         * The weight projection {@code tensor} comes from, through reshapes, transposes and arithmetic with a
         * constant; null when the path leaves that shape.
         */
        NodeProto projectionOf(String tensor) {
            String t = tensor;
            for (int step = 0; step < 8; step++) {
                NodeProto n = producers.get(t);
                if (n == null) {
                    return null;
                }
                if (PROJECTIONS.contains(n.getOpType()) && n.getInputCount() >= 2 && activation(n.getInput(0))) {
                    return activation(n.getInput(1)) ? null : n;
                }
                switch (n.getOpType()) {
                    case "Reshape", "Transpose" -> t = n.getInput(0);
                    case "Add", "Mul", "Div" -> { // a bias or a scale, on either side (Div: the divisor)
                        t = nonConstantInput(n, constants);
                        if (t == null || (n.getOpType().equals("Div") && t.equals(n.getInput(0)) == false)) {
                            return null;
                        }
                    }
                    default -> {
                        return null;
                    }
                }
            }
            return null;
        }

        private boolean activation(String tensor) {
            return constants.containsKey(tensor) == false;
        }
    }
}

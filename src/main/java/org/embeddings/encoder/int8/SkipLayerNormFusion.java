package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites each residual connection of a post-norm transformer, {@code y = LayerNorm(a + r) * gamma + beta} where
 * {@code r} is the previous layer norm's output, into one {@code com.microsoft} {@code SkipLayerNormalization(a, r,
 * gamma, beta)}.
 *
 * <p>Why: ONNX Runtime's CPU {@code LayerNormalization} kernel is slow: 25 of them on 1,536 rows of 384 take 40 ms,
 * 25 {@code SkipLayerNormalization}, which also add the residual, 9 ms (docs/int8.md). In bge-small-en-v1.5's int8
 * graph the layer norms were a fifth of the time on short texts, as much as all the fp32 work the integer kernels
 * had left. ONNX Runtime's own fusion of the two does not fire on these exports.
 *
 * <p>Algorithm: a layer norm is a {@code LayerNormalization} over the last axis with constant 1-D scale and bias, or
 * the decomposition PyTorch writes below opset 17: {@code ReduceMean(x)}, {@code Sub}, {@code Pow} 2,
 * {@code ReduceMean}, {@code Add} epsilon, {@code Sqrt}, {@code Div}, {@code Mul} gamma, {@code Add} beta (means over
 * the last axis). It is fused when its input {@code x} is an {@code Add} of two activations, one of them a layer
 * norm's output in the source graph (so both are whole rows of the residual stream: the embeddings' sum with a
 * position table broadcast over the batch is left alone), and no tensor inside the pattern, {@code x} included, is
 * read elsewhere or is a graph output. The fused node keeps the final output's name, so tensors named elsewhere
 * (activation ranges, readers) still resolve. The arithmetic is the same up to rounding.
 */
public final class SkipLayerNormFusion {
    private SkipLayerNormFusion() {}

    /** The rewritten graph and how many layer norms were fused. */
    record Result(GraphProto graph, int fused) {}

    /**
     * The fusion alone on a whole model, for measuring what it is worth on its own (the fp32 encoder does not run
     * it: it runs the authors' graph as published).
     */
    public static byte[] fuse(byte[] model) {
        ModelProto m = GraphIndex.parse(model, "fuse layer norms");
        return GraphIndex.importingMsDomain(
                        m.toBuilder().setGraph(fuse(m.getGraph()).graph()))
                .build()
                .toByteArray();
    }

    /** The caller imports the {@code com.microsoft} domain, which the fused nodes belong to. */
    static Result fuse(GraphProto graph) {
        LayerNormGraph g = new LayerNormGraph(graph);
        Map<Integer, NodeProto> replacements = new HashMap<>();
        Set<Integer> removed = new HashSet<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto add = graph.getNode(i);
            String residual = residualOf(add, g);
            Match m = residual == null ? null : g.layerNormOf(add.getOutput(0));
            if (m == null) {
                continue;
            }
            String input = residual.equals(add.getInput(0)) ? add.getInput(1) : add.getInput(0);
            NodeProto fused = NodeProto.newBuilder()
                    .setName(add.getName() + "_skip_layer_norm")
                    .setOpType("SkipLayerNormalization")
                    .setDomain(GraphIndex.MS_DOMAIN)
                    .addInput(input)
                    .addInput(residual)
                    .addInput(m.gamma())
                    .addInput(m.beta())
                    .addOutput(m.output())
                    .addAttribute(AttributeProto.newBuilder()
                            .setName("epsilon")
                            .setType(AttributeProto.AttributeType.FLOAT)
                            .setF(m.epsilon()))
                    .build();
            removed.add(i);
            removed.addAll(m.nodes());
            replacements.put(m.last(), fused);
        }
        if (replacements.isEmpty()) {
            return new Result(graph, 0);
        }
        List<NodeProto> nodes = new ArrayList<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            if (replacements.containsKey(i)) {
                nodes.add(replacements.get(i));
            } else if (removed.contains(i) == false) {
                nodes.add(graph.getNode(i));
            }
        }
        // the patterns' Constant nodes (exponent, epsilon) have no reader left
        Set<String> read = new HashSet<>();
        nodes.forEach(n -> read.addAll(n.getInputList()));
        graph.getOutputList().forEach(o -> read.add(o.getName()));
        nodes.removeIf(n -> n.getOpType().equals("Constant") && read.contains(n.getOutput(0)) == false);
        Set<String> produced = new HashSet<>();
        nodes.forEach(n -> produced.addAll(n.getOutputList()));
        GraphProto.Builder out = graph.toBuilder().clearNode().addAllNode(nodes).clearValueInfo();
        graph.getValueInfoList().stream()
                .filter(v -> produced.contains(v.getName()))
                .forEach(out::addValueInfo);
        return new Result(out.build(), replacements.size());
    }

    /** For an {@code Add} of two activations one of which is a layer norm's output, that input; else null. */
    private static String residualOf(NodeProto add, LayerNormGraph g) {
        if (add.getOpType().equals("Add") == false
                || add.getDomain().isEmpty() == false
                || add.getInputCount() != 2
                || g.constants.containsKey(add.getInput(0))
                || g.constants.containsKey(add.getInput(1))) {
            return null;
        }
        for (String input : add.getInputList()) {
            if (isLayerNormOutput(input, g.producers, g.constants)) {
                return input;
            }
        }
        return null;
    }

    private static final Set<String> NORMALIZATIONS =
            Set.of("LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization");

    /**
     * Whether {@code tensor} is a layer norm's output: a normalization operator's, or the tail of one written out as
     * {@code Div}, then {@code Mul} by a constant gain, then {@code Add} of a constant bias (how PyTorch exports
     * {@code LayerNorm} below opset 17).
     */
    static boolean isLayerNormOutput(
            String tensor, Map<String, NodeProto> producers, Map<String, TensorProto> constants) {
        NodeProto node = producers.get(tensor);
        if (node == null) {
            return false;
        }
        if (NORMALIZATIONS.contains(node.getOpType())) {
            return true;
        }
        NodeProto mul = withConstant(node, "Add", producers, constants);
        NodeProto div = mul == null ? null : withConstant(mul, "Mul", producers, constants);
        return div != null && div.getOpType().equals("Div");
    }

    /** For a two-input {@code op} node with one constant input, the producer of its other input; else null. */
    private static NodeProto withConstant(
            NodeProto node, String op, Map<String, NodeProto> producers, Map<String, TensorProto> constants) {
        String other = node.getOpType().equals(op) ? GraphIndex.nonConstantInput(node, constants) : null;
        return other == null ? null : producers.get(other);
    }

    /** A layer norm found below a tensor: the nodes it spans, the last of them, its parameters and output. */
    private record Match(List<Integer> nodes, int last, String gamma, String beta, float epsilon, String output) {}

    /** The source graph's indexes, and the layer norm patterns found through them. */
    private static final class LayerNormGraph extends GraphIndex {
        LayerNormGraph(GraphProto graph) {
            super(graph);
        }

        /** The one node reading {@code tensor}, when it is an {@code op} and nothing else reads it; else -1. */
        int onlyReader(String tensor, String op) {
            List<Integer> r = readers.getOrDefault(tensor, List.of());
            if (r.size() != 1 || outputs.contains(tensor)) {
                return -1;
            }
            NodeProto n = graph.getNode(r.get(0));
            return n.getOpType().equals(op) && n.getDomain().isEmpty() ? r.get(0) : -1;
        }

        /** The layer norm that reads exactly {@code x} and nothing else does, or null. */
        Match layerNormOf(String x) {
            List<Integer> r = readers.getOrDefault(x, List.of());
            if (outputs.contains(x)) {
                return null;
            }
            if (r.size() == 1) {
                NodeProto ln = graph.getNode(r.get(0));
                if (ln.getOpType().equals("LayerNormalization")
                        && ln.getDomain().isEmpty()
                        && ln.getInputCount() == 3
                        && GraphIndex.intAttr(ln, "axis", -1) == -1
                        && isVector(ln.getInput(1))
                        && isVector(ln.getInput(2))
                        && onlyOutputRead(ln)) {
                    return new Match(
                            List.of(r.get(0)),
                            r.get(0),
                            ln.getInput(1),
                            ln.getInput(2),
                            GraphIndex.floatAttr(ln, "epsilon", 1e-5f),
                            ln.getOutput(0));
                }
                return null;
            }
            return decomposed(x, r);
        }

        private Match decomposed(String x, List<Integer> r) {
            if (r.size() != 2) {
                return null;
            }
            NodeProto first = graph.getNode(r.get(0));
            NodeProto second = graph.getNode(r.get(1));
            int meanAt = first.getOpType().equals("ReduceMean") ? r.get(0) : r.get(1);
            NodeProto mean = graph.getNode(meanAt);
            NodeProto sub = mean == first ? second : first;
            if (isLastAxisMean(mean, x) == false
                    || sub.getOpType().equals("Sub") == false
                    || sub.getInputCount() != 2
                    || sub.getInput(0).equals(x) == false
                    || sub.getInput(1).equals(mean.getOutput(0)) == false
                    || readers.getOrDefault(mean.getOutput(0), List.of()).size() != 1) {
                return null;
            }
            int subAt = meanAt == r.get(0) ? r.get(1) : r.get(0);
            String centred = sub.getOutput(0);
            List<Integer> centredReaders = readers.getOrDefault(centred, List.of());
            if (centredReaders.size() != 2 || outputs.contains(centred)) {
                return null;
            }
            int powAt = -1;
            int divAt = -1;
            for (int k : centredReaders) {
                String op = graph.getNode(k).getOpType();
                if (op.equals("Pow")) {
                    powAt = k;
                } else if (op.equals("Div")) {
                    divAt = k;
                }
            }
            if (powAt < 0 || divAt < 0) {
                return null;
            }
            NodeProto pow = graph.getNode(powAt);
            Float exponent = scalar(pow.getInput(1));
            if (pow.getInput(0).equals(centred) == false || exponent == null || exponent != 2f) {
                return null;
            }
            int varianceAt = onlyReader(pow.getOutput(0), "ReduceMean");
            if (varianceAt < 0 || isLastAxisMean(graph.getNode(varianceAt), pow.getOutput(0)) == false) {
                return null;
            }
            int epsAt = onlyReader(graph.getNode(varianceAt).getOutput(0), "Add");
            if (epsAt < 0) {
                return null;
            }
            NodeProto epsAdd = graph.getNode(epsAt);
            String variance = graph.getNode(varianceAt).getOutput(0);
            Float epsilon = scalar(epsAdd.getInput(0).equals(variance) ? epsAdd.getInput(1) : epsAdd.getInput(0));
            int sqrtAt = onlyReader(epsAdd.getOutput(0), "Sqrt");
            if (epsilon == null || sqrtAt < 0) {
                return null;
            }
            NodeProto div = graph.getNode(divAt);
            if (div.getInput(0).equals(centred) == false
                    || div.getInput(1).equals(graph.getNode(sqrtAt).getOutput(0)) == false
                    || onlyReader(graph.getNode(sqrtAt).getOutput(0), "Div") != divAt) {
                return null;
            }
            int mulAt = onlyReader(div.getOutput(0), "Mul");
            String gamma = mulAt < 0 ? null : otherInput(graph.getNode(mulAt), div.getOutput(0));
            if (gamma == null || isVector(gamma) == false) {
                return null;
            }
            int biasAt = onlyReader(graph.getNode(mulAt).getOutput(0), "Add");
            String beta = biasAt < 0
                    ? null
                    : otherInput(graph.getNode(biasAt), graph.getNode(mulAt).getOutput(0));
            if (beta == null || isVector(beta) == false || vectorLength(beta) != vectorLength(gamma)) {
                return null;
            }
            return new Match(
                    List.of(meanAt, subAt, powAt, varianceAt, epsAt, sqrtAt, divAt, mulAt, biasAt),
                    biasAt,
                    gamma,
                    beta,
                    epsilon,
                    graph.getNode(biasAt).getOutput(0));
        }

        private boolean isLastAxisMean(NodeProto mean, String input) {
            if (mean.getOpType().equals("ReduceMean") == false
                    || mean.getInputCount() != 1
                    || mean.getInput(0).equals(input) == false
                    || GraphIndex.intAttr(mean, "keepdims", 1) != 1) {
                return false;
            }
            for (AttributeProto a : mean.getAttributeList()) {
                if (a.getName().equals("axes")) {
                    return a.getIntsCount() == 1 && a.getInts(0) == -1;
                }
            }
            return false;
        }

        private boolean onlyOutputRead(NodeProto ln) {
            for (int k = 1; k < ln.getOutputCount(); k++) {
                String o = ln.getOutput(k);
                if (o.isEmpty() == false && (readers.containsKey(o) || outputs.contains(o))) {
                    return false;
                }
            }
            return true;
        }

        private String otherInput(NodeProto node, String tensor) {
            if (node.getInputCount() != 2) {
                return null;
            }
            return node.getInput(0).equals(tensor) ? node.getInput(1) : node.getInput(0);
        }

        /** A constant fp32 1-D tensor: what SkipLayerNormalization takes as gamma and beta. */
        private boolean isVector(String name) {
            TensorProto t = constants.get(name);
            return t != null && t.getDataType() == TensorProto.DataType.FLOAT.getNumber() && t.getDimsCount() == 1;
        }

        private long vectorLength(String name) {
            return constants.get(name).getDims(0);
        }

        /** The value of a constant fp32 scalar (or one-element tensor), or null. */
        private Float scalar(String name) {
            TensorProto t = constants.get(name);
            if (t == null || t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) {
                return null;
            }
            long count = 1;
            for (long d : t.getDimsList()) {
                count *= d;
            }
            if (count != 1) {
                return null;
            }
            if (t.getRawData().size() == Float.BYTES) {
                return t.getRawData()
                        .asReadOnlyByteBuffer()
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getFloat();
            }
            return t.getFloatDataCount() == 1 ? t.getFloatData(0) : null;
        }
    }
}

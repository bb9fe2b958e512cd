package org.embeddings.encoder;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites each self-attention block of a BERT-style export, from its three projections' outputs to its context,
 * into one {@code com.microsoft} {@code MultiHeadAttention(q, k, v, , key_padding_mask)}.
 *
 * <p>Why: the exported block materializes the scores {@code [batch, heads, S, S]} four times (the product, the
 * division by {@code sqrt(head size)}, the mask's addition, the softmax), each a pass over memory that grows with
 * the square of the sequence length, and transposes its inputs and output. On 8 SciFact documents of 463 tokens these
 * were 60 % of bge-small-en-v1.5's int8 run, the weight matmuls having become fast. ONNX Runtime's attention kernel
 * scales the product inside the GEMM and adds the mask within its softmax. ONNX Runtime's own attention fusion does not
 * fire on these exports.
 *
 * <p>Algorithm: for each {@code Softmax} over the last axis, the scores are traced back through a scale ({@code Div}
 * or {@code Mul} by a constant) and the mask's {@code Add} to {@code MatMul(Q', K')}, with {@code Q' =
 * Transpose[0,2,1,3](Reshape(q))} and {@code K' = Transpose[0,2,3,1](Reshape(k))}; its one reader must be
 * {@code MatMul(softmax, Transpose[0,2,1,3](Reshape(v)))}, read only by {@code Transpose[0,2,1,3]} and a
 * {@code Reshape} back to three axes. The head count and size are the reshapes' constant last two entries. The mask
 * must be {@code (1 - float(attention_mask[:, None, None, :])) * c} with a constant {@code c}, built from the graph
 * input {@code attention_mask}: it becomes {@code key_padding_mask} (the input cast to int32) with
 * {@code mask_filter_value = c}, and the scale becomes the operator's {@code scale}. Every tensor inside the block
 * must have no reader outside it. The fused node writes the last reshape's output, and nodes left without readers
 * (the shape arithmetic of the reshapes, an unused mask) are removed. A block of any other shape is left as it is.
 *
 * <p>Contract: the output equals the source graph's up to rounding (masked positions get weight 0 either way). A
 * query shorter than the keys (the first-token cut of {@link FirstTokenPruning}) is one more shape the operator
 * takes.
 */
public final class AttentionFusion {
    private AttentionFusion() {}

    /** The rewritten graph and how many attention blocks were fused. */
    record Result(GraphProto graph, int fused) {}

    private static final String MASK = "attention_mask", MASK_INT32 = "attention_mask_int32";

    /** One block found: the nodes it replaces, its three inputs, heads, scale, mask constant and output. */
    private record Block(
            Set<NodeProto> nodes, String q, String k, String v, long heads, float scale, float maskValue, String out) {}

    /** The caller imports the {@code com.microsoft} domain, which the fused nodes belong to. */
    static Result fuse(GraphProto graph) {
        BlockGraph g = new BlockGraph(graph);
        if (g.inputs.contains(MASK) == false) {
            return new Result(graph, 0);
        }
        Map<NodeProto, Block> byLast = new HashMap<>();
        Set<NodeProto> removed = new HashSet<>();
        for (NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Softmax") && n.getDomain().isEmpty()) {
                Block b = g.block(n);
                if (b != null) {
                    removed.addAll(b.nodes());
                    byLast.put(g.producers.get(b.out()), b);
                }
            }
        }
        if (byLast.isEmpty()) {
            return new Result(graph, 0);
        }
        List<NodeProto> nodes = new ArrayList<>();
        nodes.add(NodeProto.newBuilder()
                .setName(MASK_INT32)
                .setOpType("Cast")
                .addInput(MASK)
                .addOutput(MASK_INT32)
                .addAttribute(AttributeProto.newBuilder()
                        .setName("to")
                        .setType(AttributeProto.AttributeType.INT)
                        .setI(TensorProto.DataType.INT32_VALUE))
                .build());
        for (NodeProto n : graph.getNodeList()) {
            Block b = byLast.get(n);
            if (b != null) {
                nodes.add(NodeProto.newBuilder()
                        .setName(b.out() + "_attention")
                        .setOpType("MultiHeadAttention")
                        .setDomain(GraphIndex.MS_DOMAIN)
                        .addInput(b.q())
                        .addInput(b.k())
                        .addInput(b.v())
                        .addInput("")
                        .addInput(MASK_INT32)
                        .addOutput(b.out())
                        .addAttribute(intAttribute("num_heads", b.heads()))
                        .addAttribute(floatAttribute("scale", b.scale()))
                        .addAttribute(floatAttribute("mask_filter_value", b.maskValue()))
                        .build());
            } else if (removed.contains(n) == false) {
                nodes.add(n);
            }
        }
        return new Result(withoutDeadNodes(graph, nodes), byLast.size());
    }

    /** The graph with {@code nodes}, less every node (but those with no outputs) whose outputs nothing reads. */
    static GraphProto withoutDeadNodes(GraphProto graph, List<NodeProto> nodes) {
        List<NodeProto> live = new ArrayList<>(nodes);
        Set<String> outputs = new HashSet<>();
        graph.getOutputList().forEach(o -> outputs.add(o.getName()));
        boolean changed = true;
        while (changed) {
            Set<String> read = new HashSet<>(outputs);
            live.forEach(n -> read.addAll(n.getInputList()));
            changed = live.removeIf(
                    n -> n.getOutputCount() > 0 && n.getOutputList().stream().noneMatch(read::contains));
        }
        Set<String> read = new HashSet<>(outputs);
        Set<String> produced = new HashSet<>();
        live.forEach(n -> {
            read.addAll(n.getInputList());
            produced.addAll(n.getOutputList());
        });
        GraphProto.Builder out = graph.toBuilder()
                .clearNode()
                .addAllNode(live)
                .clearInitializer()
                .clearValueInfo();
        graph.getInitializerList().stream()
                .filter(t -> read.contains(t.getName()))
                .forEach(out::addInitializer);
        graph.getValueInfoList().stream()
                .filter(v -> produced.contains(v.getName()))
                .forEach(out::addValueInfo);
        return out.build();
    }

    private static AttributeProto intAttribute(String name, long value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.INT)
                .setI(value)
                .build();
    }

    private static AttributeProto floatAttribute(String name, float value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.FLOAT)
                .setF(value)
                .build();
    }

    /** The source graph's indexes, and the attention blocks found through them. */
    private static final class BlockGraph extends GraphIndex {
        final Set<String> inputs = new HashSet<>();

        BlockGraph(GraphProto graph) {
            super(graph);
            graph.getInputList().forEach(v -> inputs.add(v.getName()));
        }

        /** The block whose softmax is {@code softmax}, or null when it has another shape. */
        Block block(NodeProto softmax) {
            if (GraphIndex.intAttr(softmax, "axis", -1) != -1 && GraphIndex.intAttr(softmax, "axis", -1) != 3) {
                return null;
            }
            Set<NodeProto> nodes = new HashSet<>();
            nodes.add(softmax);
            // scores = MatMul(Q', K') [/ c | * c] + mask, in either order of scale and mask
            String t = softmax.getInput(0);
            float scale = 1f;
            Float maskValue = null;
            NodeProto product = null;
            for (int step = 0; step < 3 && product == null; step++) {
                NodeProto n = producers.get(t);
                if (n == null || n.getDomain().isEmpty() == false) {
                    return null;
                }
                nodes.add(n);
                switch (n.getOpType()) {
                    case "MatMul" -> product = n;
                    case "Div", "Mul" -> {
                        String other = nonConstantInput(n, constants);
                        Float c = other == null
                                ? null
                                : scalar(n.getInput(0).equals(other) ? n.getInput(1) : n.getInput(0));
                        if (c == null
                                || (n.getOpType().equals("Div") && n.getInput(0).equals(other) == false)) {
                            return null;
                        }
                        scale *= n.getOpType().equals("Div") ? 1f / c : c;
                        t = other;
                    }
                    case "Add" -> {
                        if (maskValue != null || n.getInputCount() != 2) {
                            return null;
                        }
                        int mask = maskConstantIndex(n);
                        if (mask < 0) {
                            return null;
                        }
                        maskValue = maskValue(n.getInput(mask));
                        t = n.getInput(1 - mask);
                    }
                    default -> {
                        return null;
                    }
                }
            }
            if (product == null || maskValue == null) {
                return null;
            }
            List<NodeProto> readers = readerNodes(softmax.getOutput(0));
            if (readers.size() != 1 || readers.get(0).getOpType().equals("MatMul") == false) {
                return null;
            }
            NodeProto context = readers.get(0);
            nodes.add(context);
            Head q = head(product.getInput(0), List.of(0L, 2L, 1L, 3L), nodes);
            Head k = head(product.getInput(1), List.of(0L, 2L, 3L, 1L), nodes);
            Head v = head(context.getInput(1), List.of(0L, 2L, 1L, 3L), nodes);
            if (q == null || k == null || v == null || q.heads() != k.heads() || q.heads() != v.heads()) {
                return null;
            }
            // context -> Transpose[0,2,1,3] -> Reshape to [batch, S, hidden]
            List<NodeProto> after = readerNodes(context.getOutput(0));
            if (after.size() != 1 || isTranspose(after.get(0), List.of(0L, 2L, 1L, 3L)) == false) {
                return null;
            }
            NodeProto transpose = after.get(0);
            List<NodeProto> reshapes = readerNodes(transpose.getOutput(0)).stream()
                    .filter(n -> n.getOpType().equals("Shape") == false)
                    .toList();
            if (reshapes.size() != 1 || reshapes.get(0).getOpType().equals("Reshape") == false) {
                return null;
            }
            nodes.add(transpose);
            nodes.add(reshapes.get(0));
            // nothing inside the block may be read from outside it (shape arithmetic aside)
            for (NodeProto n : nodes) {
                if (n == reshapes.get(0)) {
                    continue;
                }
                for (String out : n.getOutputList()) {
                    if (outputs.contains(out)) {
                        return null;
                    }
                    for (NodeProto r : readerNodes(out)) {
                        if (nodes.contains(r) == false && r.getOpType().equals("Shape") == false) {
                            return null;
                        }
                    }
                }
            }
            return new Block(
                    nodes,
                    q.input(),
                    k.input(),
                    v.input(),
                    q.heads(),
                    scale,
                    maskValue,
                    reshapes.get(0).getOutput(0));
        }

        /** A projection's output split into heads: {@code Transpose[perm](Reshape(input, [.., .., heads, size]))}. */
        private record Head(String input, long heads) {}

        private Head head(String tensor, List<Long> perm, Set<NodeProto> nodes) {
            NodeProto transpose = producers.get(tensor);
            if (transpose == null || isTranspose(transpose, perm) == false) {
                return null;
            }
            NodeProto reshape = producers.get(transpose.getInput(0));
            if (reshape == null || reshape.getOpType().equals("Reshape") == false) {
                return null;
            }
            long[] split = lastTwo(reshape.getInput(1));
            if (split == null) {
                return null;
            }
            nodes.add(transpose);
            nodes.add(reshape);
            return new Head(reshape.getInput(0), split[0]);
        }

        private static boolean isTranspose(NodeProto n, List<Long> perm) {
            if (n.getOpType().equals("Transpose") == false) {
                return false;
            }
            for (AttributeProto a : n.getAttributeList()) {
                if (a.getName().equals("perm")) {
                    return a.getIntsList().equals(perm);
                }
            }
            return false;
        }

        /**
         * The constant last two entries of a reshape's 4-entry shape: a constant, or a {@code Concat} whose last two
         * inputs are constants; null otherwise.
         */
        private long[] lastTwo(String shape) {
            TensorProto whole = constants.get(shape);
            if (whole != null) {
                long[] s = longs(whole);
                return s != null && s.length == 4 && s[2] > 0 && s[3] > 0 ? new long[] {s[2], s[3]} : null;
            }
            NodeProto concat = producers.get(shape);
            if (concat == null || concat.getOpType().equals("Concat") == false || concat.getInputCount() != 4) {
                return null;
            }
            long[] heads = longs(constants.get(concat.getInput(2)));
            long[] size = longs(constants.get(concat.getInput(3)));
            return heads != null && size != null && heads.length == 1 && size.length == 1 && heads[0] > 0 && size[0] > 0
                    ? new long[] {heads[0], size[0]}
                    : null;
        }

        /** Which input of the mask {@code Add} is the mask built from {@code attention_mask}; -1 when neither. */
        private int maskConstantIndex(NodeProto add) {
            for (int i = 0; i < 2; i++) {
                if (maskValue(add.getInput(i)) != null) {
                    return i;
                }
            }
            return -1;
        }

        /**
         * The constant {@code c} of a mask {@code (1 - Cast(Unsqueeze(Unsqueeze(attention_mask)))) * c}, or null when
         * {@code tensor} is not such a mask.
         */
        private Float maskValue(String tensor) {
            NodeProto mul = producers.get(tensor);
            if (mul == null || mul.getOpType().equals("Mul") == false) {
                return null;
            }
            String sub = nonConstantInput(mul, constants);
            if (sub == null) {
                return null;
            }
            Float c = scalar(mul.getInput(0).equals(sub) ? mul.getInput(1) : mul.getInput(0));
            NodeProto minus = producers.get(sub);
            if (c == null || minus == null || minus.getOpType().equals("Sub") == false) {
                return null;
            }
            Float one = scalar(minus.getInput(0));
            String t = minus.getInput(1);
            if (one == null || one != 1f) {
                return null;
            }
            for (int step = 0; step < 4; step++) {
                NodeProto n = producers.get(t);
                if (n == null) {
                    return MASK.equals(t) ? c : null;
                }
                if (Set.of("Cast", "Unsqueeze").contains(n.getOpType()) == false) {
                    return null;
                }
                t = n.getInput(0);
            }
            return MASK.equals(t) ? c : null;
        }

        /** The value of a constant float scalar (or one-element tensor), or null. */
        private Float scalar(String name) {
            TensorProto t = constants.get(name);
            if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
                return null;
            }
            float[] v = floats(t);
            return v.length == 1 ? v[0] : null;
        }

        private static long[] longs(TensorProto t) {
            if (t == null || t.getDataType() != TensorProto.DataType.INT64_VALUE) {
                return null;
            }
            if (t.getRawData().isEmpty() == false) {
                java.nio.LongBuffer b = t.getRawData()
                        .asReadOnlyByteBuffer()
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .asLongBuffer();
                long[] out = new long[b.remaining()];
                b.get(out);
                return out;
            }
            return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
        }
    }
}

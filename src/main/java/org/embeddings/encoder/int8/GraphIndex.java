package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.embeddings.encoder.ModelLoadException;

/**
 * The indexes a graph rewrite reads an ONNX graph through, built once: who produces each tensor (and at which node
 * position), who reads it, which tensors are constants (initializers that are not graph inputs, since those can be
 * fed at run time, and {@code Constant} nodes' values), and the graph's outputs. {@link Int8Quantizer} reads the
 * producers, readers and initializers; the rewrites that match patterns ({@link SkipLayerNormFusion},
 * {@link FirstTokenPruning}) add their queries on top. Its static helpers are the protobuf reading and writing the
 * rewrites share: parsing without copying weights, attributes, tensors.
 */
class GraphIndex {
    final GraphProto graph;
    final Map<String, NodeProto> producers = new HashMap<>();
    /** The position of each tensor's producer among the graph's nodes. */
    final Map<String, Integer> index = new HashMap<>();

    final Map<String, List<Integer>> readers = new HashMap<>();
    /** Initializers that are not graph inputs (those can be fed at run time). */
    final Map<String, TensorProto> initializers = new HashMap<>();
    /** The initializers, and {@code Constant} nodes' values. */
    final Map<String, TensorProto> constants = new HashMap<>();

    final Set<String> outputs = new HashSet<>();

    GraphIndex(GraphProto graph) {
        this.graph = graph;
        Set<String> inputs = new HashSet<>();
        graph.getInputList().forEach(v -> inputs.add(v.getName()));
        graph.getOutputList().forEach(v -> outputs.add(v.getName()));
        for (TensorProto t : graph.getInitializerList()) {
            if (inputs.contains(t.getName()) == false) {
                initializers.put(t.getName(), t);
            }
        }
        constants.putAll(initializers);
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto n = graph.getNode(i);
            for (String o : n.getOutputList()) {
                producers.put(o, n);
                index.put(o, i);
            }
            for (String in : n.getInputList()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
            if (n.getOpType().equals("Constant")) {
                for (AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT()) {
                        constants.put(n.getOutput(0), a.getT());
                    }
                }
            }
        }
    }

    /**
     * The one input of a two-input {@code node} that is not in {@code constants}, when the other one is; else null
     * (a bias, gain or scale applied to an activation).
     */
    static String nonConstantInput(NodeProto node, Map<String, TensorProto> constants) {
        if (node.getInputCount() != 2) {
            return null;
        }
        boolean first = constants.containsKey(node.getInput(0));
        boolean second = constants.containsKey(node.getInput(1));
        return first == second ? null : node.getInput(first ? 1 : 0);
    }

    /** The nodes reading {@code tensor}, in graph order. */
    final List<NodeProto> readerNodes(String tensor) {
        return readers.getOrDefault(tensor, List.of()).stream()
                .map(graph::getNode)
                .toList();
    }

    /** The operator domain of ONNX Runtime's contrib operators (fused layer norms, integer matmuls). */
    static final String MS_DOMAIN = "com.microsoft";

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

    /** The highest version of the default ONNX operator set {@code model} imports (0 when none). */
    static long onnxOpset(List<OperatorSetIdProto> opsets) {
        return opsets.stream()
                .filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToLong(OperatorSetIdProto::getVersion)
                .max()
                .orElse(0);
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

    /** The values of a float tensor stored in the model (raw or as float data). */
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

    static TensorProto tensor(String name, TensorProto.DataType type, long[] dims, byte[] raw) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setName(name)
                .setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    /** A 1-D float tensor. */
    static TensorProto floatTensor(String name, float[] values) {
        return floatTensor(name, new long[] {values.length}, values);
    }

    /** A float tensor of the given shape ({@code {}}: a scalar). */
    static TensorProto floatTensor(String name, long[] dims, float... values) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        return tensor(name, TensorProto.DataType.FLOAT, dims, raw.array());
    }

    /** A scalar uint8 tensor. */
    static TensorProto uint8Scalar(String name, int value) {
        return tensor(name, TensorProto.DataType.UINT8, new long[0], new byte[] {(byte) value});
    }

    /** A 1-D int64 tensor. */
    static TensorProto int64s(String name, long... values) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setName(name)
                .setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) {
            b.addInt64Data(v);
        }
        return b.build();
    }
}

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
 * The indexes a graph rewrite reads an ONNX graph through, built once: who produces each tensor (and at which node
 * position), who reads it, which tensors are constants (initializers that are not graph inputs, since those can be
 * fed at run time, and {@code Constant} nodes' values), and the graph's outputs. {@link Int8Quantizer} reads the
 * producers, readers and initializers; the rewrites that match patterns ({@link SkipLayerNormFusion},
 * {@link FirstTokenPruning}) add their queries on top.
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
}

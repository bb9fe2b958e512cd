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
 * fed at run time, and {@code Constant} nodes' values), and the graph's outputs. The rewrites that match patterns
 * ({@link SkipLayerNormFusion}, {@link FirstTokenPruning}) add their queries on top.
 */
class GraphIndex {
    final GraphProto graph;
    final Map<String, NodeProto> producers = new HashMap<>();
    /** The position of each tensor's producer among the graph's nodes. */
    final Map<String, Integer> index = new HashMap<>();

    final Map<String, List<Integer>> readers = new HashMap<>();
    final Map<String, TensorProto> constants = new HashMap<>();
    final Set<String> outputs = new HashSet<>();

    GraphIndex(GraphProto graph) {
        this.graph = graph;
        Set<String> inputs = new HashSet<>();
        graph.getInputList().forEach(v -> inputs.add(v.getName()));
        graph.getOutputList().forEach(v -> outputs.add(v.getName()));
        for (TensorProto t : graph.getInitializerList()) {
            if (inputs.contains(t.getName()) == false) {
                constants.put(t.getName(), t);
            }
        }
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

    /** The nodes reading {@code tensor}, in graph order. */
    final List<NodeProto> readerNodes(String tensor) {
        return readers.getOrDefault(tensor, List.of()).stream()
                .map(graph::getNode)
                .toList();
    }
}

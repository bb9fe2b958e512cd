package org.embeddings.encoder.int8;

import static org.embeddings.encoder.int8.Int8QuantizerTest.K;
import static org.embeddings.encoder.int8.Int8QuantizerTest.ROWS;
import static org.embeddings.encoder.int8.Int8QuantizerTest.floats;
import static org.embeddings.encoder.int8.Int8QuantizerTest.node;
import static org.embeddings.encoder.int8.Int8QuantizerTest.opTypes;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/**
 * The residual-plus-layer-norm fusion on a two-block graph written the way PyTorch exports a post-norm encoder below
 * opset 17 (each layer norm as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add): the first layer norm
 * reads the input itself and stays; the second reads {@code matmul(n) + n}, a residual sum, and becomes one
 * {@code SkipLayerNormalization} whose output, run by ONNX Runtime, equals the source graph's. A sum that something
 * else also reads is left alone.
 */
public class SkipLayerNormFusionTest {

    @Test
    public void aResidualSumAndItsWrittenOutLayerNormBecomeOneNode() throws Exception {
        List<NodeProto> nodes = new ArrayList<>();
        nodes.addAll(layerNorm("ln1", "x", "n", "g1", "b1"));
        nodes.add(node("MatMul", List.of("n", "w"), "h"));
        nodes.add(node("Add", List.of("h", "n"), "s"));
        nodes.addAll(layerNorm("ln2", "s", "y", "g2", "b2"));
        ModelProto source = model(nodes, "y");

        SkipLayerNormFusion.Result r = SkipLayerNormFusion.fuse(source.getGraph());
        assertEquals(1, r.fused());
        GraphProto g = r.graph();
        List<String> ops = opTypes(g);
        assertEquals(ops.toString(), "SkipLayerNormalization", ops.get(ops.size() - 1));
        assertEquals(
                "only the first layer norm is still written out",
                1,
                ops.stream().filter("Sqrt"::equals).count());
        assertEquals(
                "ln1's epsilon and beta; the residual sum is fused",
                2,
                ops.stream().filter("Add"::equals).count());
        NodeProto fused = g.getNode(g.getNodeCount() - 1);
        assertEquals(List.of("h", "n", "g2", "b2"), fused.getInputList());
        assertEquals("y", fused.getOutput(0));
        assertEquals(1e-12f, fused.getAttribute(0).getF(), 0f);
        assertEquals(
                "the fused pattern's constants are gone with it",
                2,
                g.getNodeList().stream()
                        .filter(n -> n.getOpType().equals("Constant"))
                        .count());

        float[] x = random(ROWS * K, 2f, 3);
        float[] expected = Int8QuantizerTest.run(source.toByteArray(), x);
        float[] actual =
                Int8QuantizerTest.run(source.toBuilder().setGraph(g).build().toByteArray(), x);
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue("max difference " + max, max < 1e-4f);
    }

    @Test
    public void aSumReadElsewhereIsNotFused() {
        List<NodeProto> nodes = new ArrayList<>();
        nodes.addAll(layerNorm("ln1", "x", "n", "g1", "b1"));
        nodes.add(node("MatMul", List.of("n", "w"), "h"));
        nodes.add(node("Add", List.of("h", "n"), "s"));
        nodes.addAll(layerNorm("ln2", "s", "y", "g2", "b2"));
        nodes.add(node("Add", List.of("y", "s"), "out"));
        SkipLayerNormFusion.Result r =
                SkipLayerNormFusion.fuse(model(nodes, "out").getGraph());
        assertEquals(0, r.fused());
    }

    /** {@code (x - mean) / sqrt(var + 1e-12) * gamma + beta} over the last axis, as PyTorch writes it at opset 11. */
    private static List<NodeProto> layerNorm(String p, String x, String y, String gamma, String beta) {
        return List.of(
                reduceMean(p + "_mean", x),
                node("Sub", List.of(x, p + "_mean"), p + "_centred"),
                constant(p + "_two", 2f),
                node("Pow", List.of(p + "_centred", p + "_two"), p + "_square"),
                reduceMean(p + "_variance", p + "_square"),
                constant(p + "_eps", 1e-12f),
                node("Add", List.of(p + "_variance", p + "_eps"), p + "_shifted"),
                node("Sqrt", List.of(p + "_shifted"), p + "_std"),
                node("Div", List.of(p + "_centred", p + "_std"), p + "_normed"),
                node("Mul", List.of(p + "_normed", gamma), p + "_scaled"),
                node("Add", List.of(p + "_scaled", beta), y));
    }

    private static NodeProto reduceMean(String output, String input) {
        return node("ReduceMean", List.of(input), output).toBuilder()
                .addAttribute(AttributeProto.newBuilder()
                        .setName("axes")
                        .setType(AttributeProto.AttributeType.INTS)
                        .addInts(-1))
                .build();
    }

    private static NodeProto constant(String output, float value) {
        return node("Constant", List.of(), output).toBuilder()
                .addAttribute(AttributeProto.newBuilder()
                        .setName("value")
                        .setType(AttributeProto.AttributeType.TENSOR)
                        .setT(floats("", new float[] {value})))
                .build();
    }

    private static ModelProto model(List<NodeProto> nodes, String output) {
        List<TensorProto> constants = List.of(
                floats("w", random(K * K, 0.5f, 1), K, K),
                floats("g1", random(K, 1f, 4), K),
                floats("b1", random(K, 1f, 5), K),
                floats("g2", random(K, 1f, 6), K),
                floats("b2", random(K, 1f, 7), K));
        try {
            return ModelProto.parseFrom(Int8QuantizerTest.model(nodes, constants, output)).toBuilder()
                    .addOpsetImport(OperatorSetIdProto.newBuilder()
                            .setDomain(Int8Quantizer.MS_DOMAIN)
                            .setVersion(1))
                    .build();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static float[] random(int n, float scale, long seed) {
        Random random = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * scale);
        }
        return v;
    }
}

package org.embeddings.bench;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.embeddings.encoder.NativeThread;

/**
 * What one layer norm costs in ONNX Runtime's CPU kernels, the reason the int8 rewrite fuses residual sums and their
 * layer norms ({@code SkipLayerNormFusion}): a chain of 25 {@code LayerNormalization}, 25
 * {@code SkipLayerNormalization} (which also add a residual) and, as a floor, 25 plain {@code Add}, each over the
 * activations of a 12-layer small encoder's batch ({@code ROWS} tokens of width 384; 25 is its layer norm count),
 * in the session settings the plugin uses, rounds interleaved. Prints milliseconds per chain and the ratio to
 * {@code LayerNormalization}.
 *
 * <p>Usage: {@code src/scripts/bench.sh layer-norm [ROWS] [WIDTH] [ROUNDS]} (defaults 1536, 384, 20).
 */
public final class LayerNormBench {
    private static final int CHAIN = 25;

    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 1536;
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 384;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        try (NativeThread thread = new NativeThread("layer-norm-bench")) { // ONNX Runtime needs its deep stack
            thread.call(() -> {
                run(rows, width, rounds);
                return null;
            });
        }
    }

    private static void run(int rows, int width, int rounds) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] x = new float[rows * width];
        Random random = new Random(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        Map<String, Double> millis = new LinkedHashMap<>();
        try (OrtSession.SessionOptions options = options();
                OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {rows, width})) {
            for (String op : List.of("LayerNormalization", "SkipLayerNormalization", "Add")) {
                sessions.put(op, env.createSession(chain(op, width), options));
                millis.put(op, 0.0);
            }
            for (OrtSession s : sessions.values()) {
                for (int i = 0; i < 3; i++) {
                    s.run(Map.of("x", input)).close();
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (Map.Entry<String, OrtSession> e : sessions.entrySet()) {
                    long t0 = System.nanoTime();
                    e.getValue().run(Map.of("x", input)).close();
                    millis.merge(e.getKey(), (System.nanoTime() - t0) / 1e6, Double::sum);
                }
            }
        } finally {
            for (OrtSession s : sessions.values()) {
                s.close();
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%d nodes on [%d, %d] floats, 2 threads, %d rounds interleaved%n",
                CHAIN,
                rows,
                width,
                rounds);
        double layerNorm = millis.get("LayerNormalization") / rounds;
        for (Map.Entry<String, Double> e : millis.entrySet()) {
            double ms = e.getValue() / rounds;
            System.out.printf(
                    Locale.ROOT,
                    "| %-24s | %7.2f ms | %.2fx the LayerNormalization time |%n",
                    e.getKey(),
                    ms,
                    ms / layerNorm);
        }
    }

    /** As the plugin's sessions run on this machine: 2 threads, every graph optimization, no spinning (its default). */
    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setIntraOpNumThreads(2);
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /** {@code y = op(op(...op(x)))}: each node reads the previous output (and x as the residual, for the skip form). */
    private static byte[] chain(String op, int width) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("layer-norm-bench");
        if (op.equals("Add") == false) {
            g.addInitializer(vector("gamma", width, 1.1f)).addInitializer(vector("beta", width, 0.1f));
        }
        String previous = "x";
        for (int i = 0; i < CHAIN; i++) {
            NodeProto.Builder n =
                    NodeProto.newBuilder().setName(op + i).setOpType(op).addInput(previous);
            switch (op) {
                case "LayerNormalization" ->
                    n.addInput("gamma").addInput("beta").addAttribute(epsilon());
                case "SkipLayerNormalization" ->
                    n.setDomain("com.microsoft")
                            .addInput("x")
                            .addInput("gamma")
                            .addInput("beta")
                            .addAttribute(epsilon());
                default -> n.addInput("x");
            }
            previous = op + i + "_out";
            g.addNode(n.addOutput(previous));
        }
        TypeProto type = TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT.getNumber())
                        .setShape(TensorShapeProto.newBuilder()
                                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("rows"))
                                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))))
                .build();
        g.addInput(ValueInfoProto.newBuilder().setName("x").setType(type))
                .addOutput(ValueInfoProto.newBuilder().setName(previous).setType(type));
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain("com.microsoft")
                        .setVersion(1))
                .setGraph(g)
                .build()
                .toByteArray();
    }

    private static AttributeProto epsilon() {
        return AttributeProto.newBuilder()
                .setName("epsilon")
                .setType(AttributeProto.AttributeType.FLOAT)
                .setF(1e-12f)
                .build();
    }

    private static TensorProto vector(String name, int n, float value) {
        ByteBuffer raw = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            raw.putFloat(value);
        }
        return TensorProto.newBuilder()
                .setName(name)
                .setDataType(TensorProto.DataType.FLOAT.getNumber())
                .addDims(n)
                .setRawData(ByteString.copyFrom(raw.array()))
                .build();
    }
}

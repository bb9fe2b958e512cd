package org.embeddings.encoder.int8;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import org.embeddings.encoder.NativeLibraries;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.SessionSettings;

/**
 * What this machine's integer matmul kernels do with full-range int8 weights, which decides the weights' range of
 * every int8 model built here ({@link Int8Quantizer#reducedRange()}).
 *
 * <p>Why: ONNX Runtime multiplies uint8 activations by int8 weights. With VNNI (AVX-512 VNNI, AVX-VNNI), AMX or
 * ARM's dot products, every product goes into a 32-bit sum, exactly. Without them (x86 AVX2, and AVX-512 without
 * VNNI) the kernel first adds two neighbouring u8 x s8 products in a 16-bit lane with signed saturation
 * ({@code vpmaddubsw}): 255 x 127 x 2 = 64,770 does not fit, so large activations times large weights come out
 * wrong, and nothing says so. Weights within [-64, 64] keep every pair within 255 x 64 x 2 = 32,640.
 *
 * <p>Algorithm: rather than reading CPU flags (which a virtual machine or an emulator may report otherwise than
 * what ONNX Runtime dispatches on), it runs the operator the int8 graphs use, {@code MatMulIntegerToFloat}, with
 * constant weights as in a model, through this process's ONNX Runtime, on a product whose exact value needs more
 * than 16 bits per pair of products, and compares it with the exact sum. It costs one tiny session, once per
 * registry.
 */
public enum IntegerKernels {
    /** Products summed in 32 bits: full-range int8 weights are exact. */
    EXACT,
    /** Pairs of products summed in 16 bits with saturation: weights must stay within [-64, 64]. */
    SATURATING;
    private static final int ROWS = 4, DEPTH = 64, COLUMNS = 16;

    /** Measures this machine's kernels, on a native thread of its own (ONNX Runtime's stack needs). */
    public static IntegerKernels probe(SessionSettings settings) {
        try (NativeThread thread = new NativeThread("int8-kernel-probe")) {
            return thread.call(() -> measure(settings));
        }
    }

    private static IntegerKernels measure(SessionSettings settings) throws OrtException {
        OrtEnvironment env = NativeLibraries.ortEnvironment();
        byte[] activations = new byte[ROWS * DEPTH];
        Arrays.fill(activations, (byte) 255);
        float exact = 255f * 127f * DEPTH; // 2,072,640: exact in a float
        try (OrtSession.SessionOptions options = settings.toOptions();
                OrtSession session = env.createSession(model().toByteArray(), options);
                OnnxTensor a = OnnxTensor.createTensor(
                        env, ByteBuffer.wrap(activations), new long[] {ROWS, DEPTH}, OnnxJavaType.UINT8);
                OrtSession.Result result = session.run(Map.of("a", a))) {
            FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
            while (out.hasRemaining()) {
                if (out.get() != exact) {
                    return SATURATING;
                }
            }
            return EXACT;
        }
    }

    /** {@code y = MatMulIntegerToFloat(a, 127s)}: a uint8 {@code [ROWS, DEPTH]} input, constant int8 weights. */
    private static ModelProto model() {
        byte[] weights = new byte[DEPTH * COLUMNS];
        Arrays.fill(weights, (byte) 127);
        GraphProto graph = GraphProto.newBuilder()
                .setName("int8-kernel-probe")
                .addInput(tensorInfo("a", TensorProto.DataType.UINT8, ROWS, DEPTH))
                .addOutput(tensorInfo("y", TensorProto.DataType.FLOAT, ROWS, COLUMNS))
                .addInitializer(GraphIndex.tensor("w", TensorProto.DataType.INT8, new long[] {DEPTH, COLUMNS}, weights))
                .addInitializer(GraphIndex.floatTensor("one", new long[0], 1f))
                .addNode(NodeProto.newBuilder()
                        .setOpType("MatMulIntegerToFloat")
                        .setDomain(GraphIndex.MS_DOMAIN)
                        .addInput("a")
                        .addInput("w")
                        .addInput("one")
                        .addInput("one")
                        .addOutput("y"))
                .build();
        return ModelProto.newBuilder()
                .setIrVersion(7)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
                .addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain(GraphIndex.MS_DOMAIN)
                        .setVersion(1))
                .setGraph(graph)
                .build();
    }

    private static ValueInfoProto tensorInfo(String name, TensorProto.DataType type, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(type.getNumber())
                                .setShape(shape)))
                .build();
    }
}

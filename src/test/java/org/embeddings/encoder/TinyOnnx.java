package org.embeddings.encoder;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes a tiny ONNX model, protobuf bytes by hand (no onnx library is available to the build), so that tests drive
 * the real ONNX Runtime path with outputs they can compute themselves.
 *
 * <p>The graph is {@code hidden[b, t] = E[input_ids[b, t]] (+ P[position_ids[b, t]] when position_ids is an
 * input)}: an embedding table lookup, plus a position table lookup that makes a token's state depend on where the
 * encoder says it stands. For a rank-2 output the graph ends in {@code ReduceMean} over the sequence axis (padding
 * included), standing in for a model that pools inside its graph. Inputs other than {@code input_ids} and
 * {@code position_ids} are declared and left unused, which ONNX Runtime accepts.
 *
 * <p>Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 */
public final class TinyOnnx {
    private static final int FLOAT = 1;
    private static final int INT64 = 7;
    private static final int ATTR_INT = 2;
    private static final int ATTR_INTS = 7;

    private TinyOnnx() {}

    /**
     * @param embeddings {@code E[vocab][dim]}
     * @param positions {@code P[maxPos][dim]}, used only when {@code inputs} has {@code position_ids}
     * @param inputs the graph's input names, all int64 {@code [batch, seq]}
     * @param output the output's name
     * @param rank 3 for {@code [batch, seq, dim]}, 2 for {@code [batch, dim]}
     */
    static byte[] model(float[][] embeddings, float[][] positions, List<String> inputs, String output, int rank) {
        return model(embeddings, positions, inputs, output, rank, null);
    }

    /**
     * The model above with the embedding table {@code E} stored as external data in the file {@code location} beside
     * the model (its bytes are {@link #rawData}), as exporters store the weights of large models.
     */
    public static byte[] modelWithExternalEmbeddings(
            float[][] embeddings, List<String> inputs, String output, String location) {
        return model(embeddings, null, inputs, output, 3, location);
    }

    private static byte[] model(
            float[][] embeddings,
            float[][] positions,
            List<String> inputs,
            String output,
            int rank,
            String externalLocation) {
        int dim = embeddings[0].length;
        boolean usePositions = inputs.contains("position_ids");
        Proto graph = new Proto();
        String hidden = rank == 3 ? output : "hidden";
        String tokens = usePositions ? "token_states" : hidden;
        graph.message(1, node("Gather", List.of("E", "input_ids"), tokens, new Proto().message(5, intAttr("axis", 0))));
        if (usePositions) {
            graph.message(
                    1,
                    node(
                            "Gather",
                            List.of("P", "position_ids"),
                            "position_states",
                            new Proto().message(5, intAttr("axis", 0))));
            graph.message(1, node("Add", List.of("token_states", "position_states"), hidden, new Proto()));
        }
        if (rank == 2) {
            Proto attrs = new Proto().message(5, intsAttr("axes", 1)).message(5, intAttr("keepdims", 0));
            graph.message(1, node("ReduceMean", List.of(hidden), output, attrs));
        }
        graph.string(2, "tiny");
        graph.message(
                5,
                externalLocation == null
                        ? floatTensor("E", embeddings)
                        : externalFloatTensor("E", embeddings, externalLocation));
        if (usePositions) {
            graph.message(5, floatTensor("P", positions));
        }
        for (String input : inputs) {
            graph.message(11, valueInfo(input, INT64, "batch", "seq"));
        }
        graph.message(
                12, rank == 3 ? valueInfo(output, FLOAT, "batch", "seq", dim) : valueInfo(output, FLOAT, "batch", dim));

        Proto opset = new Proto().string(1, "").varint(2, 13);
        return new Proto()
                .varint(1, 8)
                .string(2, "embeddings-test")
                .message(7, graph)
                .message(8, opset)
                .bytes();
    }

    private static Proto node(String op, List<String> inputs, String output, Proto attributes) {
        Proto node = new Proto();
        for (String input : inputs) {
            node.string(1, input);
        }
        node.string(2, output).string(3, op + "_" + output).string(4, op);
        node.raw(attributes);
        return node;
    }

    private static Proto intAttr(String name, long value) {
        return new Proto().string(1, name).varint(3, value).varint(20, ATTR_INT);
    }

    private static Proto intsAttr(String name, long value) {
        return new Proto().string(1, name).varint(8, value).varint(20, ATTR_INTS);
    }

    private static Proto floatTensor(String name, float[][] values) {
        Proto tensor = new Proto()
                .varint(1, values.length)
                .varint(1, values[0].length)
                .varint(2, FLOAT)
                .string(8, name);
        return tensor.bytes(9, rawData(values));
    }

    /** A float tensor whose data lies in {@code location}: data_location EXTERNAL (14), external_data entries (13). */
    private static Proto externalFloatTensor(String name, float[][] values, String location) {
        return new Proto()
                .varint(1, values.length)
                .varint(1, values[0].length)
                .varint(2, FLOAT)
                .string(8, name)
                .message(13, new Proto().string(1, "location").string(2, location))
                .message(13, new Proto().string(1, "offset").string(2, "0"))
                .message(13, new Proto().string(1, "length").string(2, Integer.toString(rawData(values).length)))
                .varint(14, 1);
    }

    /** A table's values as raw_data holds them: float32, little-endian, row after row. */
    public static byte[] rawData(float[][] values) {
        byte[] raw = new byte[values.length * values[0].length * 4];
        int i = 0;
        for (float[] row : values) {
            for (float v : row) {
                int bits = Float.floatToIntBits(v);
                for (int b = 0; b < 4; b++) {
                    raw[i++] = (byte) (bits >>> (8 * b)); // raw_data is little-endian
                }
            }
        }
        return raw;
    }

    /** A tensor type whose dims are symbolic names (String) or fixed sizes (Integer). */
    private static Proto valueInfo(String name, int elemType, Object... dims) {
        Proto shape = new Proto();
        for (Object d : dims) {
            shape.message(1, d instanceof String s ? new Proto().string(2, s) : new Proto().varint(1, (Integer) d));
        }
        Proto tensorType = new Proto().varint(1, elemType).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /** Just enough of the protobuf wire format: varints (wire type 0) and length-delimited fields (wire type 2). */
    private static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            writeVarint((long) field << 3);
            writeVarint(value);
            return this;
        }

        Proto string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto message) {
            return bytes(field, message.bytes());
        }

        Proto bytes(int field, byte[] value) {
            writeVarint(((long) field << 3) | 2);
            writeVarint(value.length);
            out.writeBytes(value);
            return this;
        }

        /** Appends already encoded fields (a node's attributes). */
        Proto raw(Proto fields) {
            out.writeBytes(fields.bytes());
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        private void writeVarint(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }
    }
}

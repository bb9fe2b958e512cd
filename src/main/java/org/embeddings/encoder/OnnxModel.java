package org.embeddings.encoder;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.Closeable;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.embeddings.encoder.card.ModelCard;

/**
 * One ONNX Runtime session for one model, shared by all callers (ORT sessions are thread-safe for {@code run}).
 *
 * <p>At load it checks the graph against the card: every input must be one this class can feed
 * ({@code input_ids}, {@code attention_mask}, {@code token_type_ids}, {@code position_ids}), the card's output must
 * exist, its rank must fit the pooling (3 for token pooling, 2 for already pooled output), and its last dimension,
 * where the graph fixes it, must be the card's dims. A mismatch fails with what the graph actually has. At call time
 * it only pads a batch to its longest text, on the card's padding side, and runs; a run large enough to pin much of
 * the arena gives its memory back when it ends ({@link RunMemory#releases}).
 */
public final class OnnxModel implements Closeable {
    private static final Set<String> FEEDABLE = Set.of("input_ids", "attention_mask", "token_type_ids", "position_ids");

    private final OrtEnvironment env;
    private final OrtSession session;
    private final Set<String> inputs;
    private final String output;
    private final int outputRank;
    private final boolean padLeft;
    private final RunMemory memory;
    /** Run options of a run that gives its memory back: ONNX Runtime shrinks the CPU arena when it ends. */
    private final OrtSession.RunOptions releasing;

    /**
     * Hidden states of one batch, flat, with the attention mask used to pad it; {@code seqLen} is the positions the
     * output has, fewer than the {@code paddedWidth} fed when the graph computes only the first ones
     * ({@code int8.FirstTokenPruning}), the mask then cut to match.
     */
    public record Output(float[] hidden, long[] mask, int batch, int seqLen, int dim, int paddedWidth) {
        /** Row {@code row}, pooled and (when the card says so) normalized as {@code card} says: one text's vector. */
        public float[] vector(ModelCard card, int row) {
            float[] v = card.pooling().pool(hidden, mask, row, seqLen, dim);
            return card.normalize() ? Vectors.l2Normalize(v) : v;
        }
    }

    public OnnxModel(Path onnxFile, ModelCard card, SessionSettings settings) {
        this.env = NativeLibraries.ortEnvironment();
        try (OrtSession.SessionOptions options = settings.toOptions()) {
            this.session = env.createSession(onnxFile.toString(), options);
        } catch (OrtException e) {
            String why =
                    new PathRedaction().with(onnxFile.getParent(), "its folder").apply(e.getMessage());
            String message =
                    "model [" + card.name() + "]: ONNX Runtime cannot load " + onnxFile.getFileName() + ": " + why;
            throw LoadFailures.isTransient(e)
                    ? new ModelUnavailableException(message, e)
                    : new ModelLoadException(message, e);
        }
        try {
            this.inputs = new TreeSet<>(session.getInputNames());
            Set<String> unknown = new TreeSet<>(inputs);
            unknown.removeAll(FEEDABLE);
            if (unknown.isEmpty() == false || inputs.contains("input_ids") == false) {
                throw new ModelLoadException("model [" + card.name() + "] has ONNX inputs " + inputs
                        + "; expected input_ids and any of " + new TreeSet<>(FEEDABLE));
            }
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            NodeInfo info = outputs.get(card.output());
            if (info == null) {
                throw new ModelLoadException("model [" + card.name() + "] has no ONNX output [" + card.output()
                        + "]; it has " + new TreeSet<>(outputs.keySet()));
            }
            long[] shape = ((TensorInfo) info.getInfo()).getShape();
            this.outputRank = shape.length;
            if (outputRank != card.pooling().outputRank()) {
                throw new ModelLoadException("model [" + card.name() + "] output [" + card.output() + "] has rank "
                        + outputRank + " but pooling [" + card.pooling().label() + "] needs rank "
                        + card.pooling().outputRank());
            }
            // A fixed width that is not the card's would fail every call after a load that had succeeded, and the
            // registry keeps loaded models, so a corrected card would not be read; a dynamic width (-1) is checked
            // per call by the encoder.
            long width = shape[shape.length - 1];
            if (width > 0 && width != card.dims()) {
                throw new ModelLoadException("model [" + card.name() + "] output [" + card.output() + "] has " + width
                        + " dims but its card says " + card.dims());
            }
            this.output = card.output();
            this.padLeft = card.paddingSide() == ModelCard.PaddingSide.LEFT;
            this.memory = RunMemory.unbounded(card.name(), card.dims());
            this.releasing = new OrtSession.RunOptions();
            releasing.addRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        } catch (OrtException | RuntimeException e) {
            close();
            throw e instanceof ModelLoadException m
                    ? m
                    : new ModelLoadException("cannot inspect model [" + card.name() + "]", e);
        }
    }

    /** Runs the texts {@code tokens[order[from..to)]} as one padded batch. */
    public Output run(Tokens[] tokens, int[] order, int from, int to) {
        return run(tokens, order, from, to, Set.of(output)).get(output);
    }

    /**
     * Runs the texts {@code tokens[order[from..to)]} as one padded batch and returns the named graph outputs, each
     * flat with its last dimension as {@code dim} (for rank 3, {@code batch x seqLen x dim}).
     */
    public Map<String, Output> run(Tokens[] tokens, int[] order, int from, int to, Set<String> names) {
        int batch = to - from;
        int seqLen = 0;
        for (int i = from; i < to; i++) {
            seqLen = Math.max(seqLen, tokens[order[i]].length());
        }
        long[] ids = new long[batch * seqLen];
        long[] mask = new long[batch * seqLen];
        long[] types = new long[batch * seqLen];
        long[] positions = new long[batch * seqLen];
        for (int r = 0; r < batch; r++) {
            Tokens t = tokens[order[from + r]];
            int offset = r * seqLen + (padLeft ? seqLen - t.length() : 0);
            System.arraycopy(t.ids(), 0, ids, offset, t.length());
            System.arraycopy(t.typeIds(), 0, types, offset, t.length());
            for (int k = 0; k < t.length(); k++) {
                mask[offset + k] = 1;
                positions[offset + k] = k;
            }
        }
        long[] shape = {batch, seqLen};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            if (inputs.contains("attention_mask")) {
                feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            }
            if (inputs.contains("token_type_ids")) {
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape));
            }
            if (inputs.contains("position_ids")) {
                feed.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(positions), shape));
            }
            boolean release = memory.releases(batch, seqLen);
            try (OrtSession.Result result = release ? session.run(feed, names, releasing) : session.run(feed, names)) {
                Map<String, Output> outputs = new HashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    long[] outShape = ((TensorInfo) e.getValue().getInfo()).getShape();
                    FloatBuffer buffer = ((OnnxTensor) e.getValue()).getFloatBuffer();
                    float[] values = new float[buffer.remaining()];
                    buffer.get(values);
                    int dim = (int) outShape[outShape.length - 1];
                    int kept = outShape.length == 3 ? (int) outShape[1] : seqLen;
                    outputs.put(
                            e.getKey(),
                            kept < seqLen // a graph cut to the first positions (FirstTokenPruning)
                                    ? new Output(
                                            values, firstPositions(mask, batch, seqLen, kept), batch, kept, dim, seqLen)
                                    : new Output(values, mask, batch, seqLen, dim, seqLen));
                }
                return outputs;
            }
        } catch (OrtException e) {
            throw new IllegalStateException(
                    "ONNX Runtime failed on a batch of " + batch + " x " + seqLen + ": " + e.getMessage(), e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /** The mask of the first {@code positions} positions of each row of a {@code batch x seqLen} mask. */
    private static long[] firstPositions(long[] mask, int batch, int seqLen, int positions) {
        long[] first = new long[batch * positions];
        for (int r = 0; r < batch; r++) {
            System.arraycopy(mask, r * seqLen, first, r * positions, positions);
        }
        return first;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } finally {
            if (releasing != null) {
                releasing.close();
            }
        }
    }
}

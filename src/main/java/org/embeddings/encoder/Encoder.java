package org.embeddings.encoder;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Turns texts into vectors the way one model was trained to be used:
 * prompt for the role, tokenize (truncating to the card's limit), cut into length-sorted sub-batches under a token
 * budget, run the ONNX graph, pool each row by the card's strategy, L2-normalize when the card says so.
 * Results come back in input order. Thread-safe; one instance per model per node. All native work runs on the
 * model's {@link NativeThread}, one sub-batch per task, in the caller's {@link Lane}.
 */
public final class Encoder implements Closeable {
    private final ModelCard card;
    private final ModelTokenizer tokenizer;
    private final OnnxModel model;
    private final TokenBudgetBatcher batcher;
    private final NativeThread nativeThread;
    private final EncoderStats stats = new EncoderStats();

    /** Takes ownership of all parts; tokenizer and model calls run on {@code nativeThread}. */
    public Encoder(ModelCard card, ModelTokenizer tokenizer, OnnxModel model, TokenBudgetBatcher batcher, NativeThread nativeThread) {
        this.card = card;
        this.tokenizer = tokenizer;
        this.model = model;
        this.batcher = batcher;
        this.nativeThread = nativeThread;
    }

    public ModelCard card() {
        return card;
    }

    public EncoderStats stats() {
        return stats;
    }

    /** The model's ONNX session, for benchmarks that compare batching policies on the very same session. */
    public OnnxModel onnx() {
        return model;
    }

    /** Encodes one text. */
    public float[] encode(String text, Role role) {
        return encode(List.of(text), role)[0];
    }

    /**
     * Encodes texts for a role in the bulk lane. An empty or whitespace-only text is the caller's error and fails the
     * call before any inference, naming its position.
     */
    public float[][] encode(List<String> texts, Role role) {
        return start(texts, role, Lane.BULK).finish();
    }

    /** Encodes texts for a role in the given lane of this model's native thread. */
    public float[][] encode(List<String> texts, Role role, Lane lane) {
        return start(texts, role, lane).finish();
    }

    /**
     * Prompts and tokenizes {@code texts} and plans their sub-batches, without running the model yet: the caller
     * runs the job one sub-batch at a time ({@link Job#step()}), so that work in a more urgent lane can run between
     * two sub-batches of a long one.
     */
    public Job start(List<String> texts, Role role, Lane lane) {
        List<String> prompted = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null || text.isBlank()) {
                throw new InvalidInputException("text " + (texts.size() == 1 ? "" : "[" + i + "] ") + "is empty; nothing to embed");
            }
            prompted.add(card.prompt().apply(role, text));
        }
        Tokens[] tokens = nativeThread.call(lane, () -> tokenizer.tokenize(prompted));
        return new Job(tokens, lane);
    }

    /** Runs already tokenized texts; exposed so that benchmarks can time tokenization and inference apart. */
    public float[][] encodeTokens(Tokens[] tokens) {
        return new Job(tokens, Lane.BULK).finish();
    }

    /** Runs a task on this model's native thread (benchmarks drive {@link #onnx()} through it). */
    public <T> T onNativeThread(Callable<T> task) {
        return nativeThread.call(task);
    }

    /**
     * One encode of tokenized texts, cut by the batcher into length-sorted sub-batches that run one per
     * {@link #step()}. Not thread-safe: one caller drives a job.
     */
    public final class Job {
        private final Tokens[] tokens;
        private final Lane lane;
        private final TokenBudgetBatcher.Plan plan;
        private final float[][] vectors;
        private int next;
        private long nanos;

        private Job(Tokens[] tokens, Lane lane) {
            this.tokens = tokens;
            this.lane = lane;
            this.plan = batcher.plan(tokens);
            this.vectors = new float[tokens.length][];
        }

        public boolean done() {
            return next == plan.batches();
        }

        /** Texts in this job. */
        public int size() {
            return tokens.length;
        }

        /** Runs the next sub-batch on the model's native thread, in this job's lane. */
        public void step() {
            if (done()) {
                throw new IllegalStateException("the job is done");
            }
            int b = next++;
            long start = System.nanoTime();
            nativeThread.call(lane, () -> {
                runBatch(tokens, plan, b, vectors);
                return null;
            });
            nanos += System.nanoTime() - start;
            if (done()) {
                stats.requests.increment();
                stats.texts.add(tokens.length);
                for (Tokens t : tokens) {
                    stats.tokens.add(t.length());
                }
                stats.inferenceNanos.add(nanos);
            }
        }

        /** Runs every remaining sub-batch and returns the vectors, in input order. */
        public float[][] finish() {
            while (done() == false) {
                step();
            }
            return vectors;
        }
    }

    private void runBatch(Tokens[] tokens, TokenBudgetBatcher.Plan plan, int b, float[][] vectors) {
        int from = plan.bounds()[b];
        int to = plan.bounds()[b + 1];
        OnnxModel.Output out = model.run(tokens, plan.order(), from, to);
        if (out.dim() != card.dims()) {
            throw new ModelLoadException("model [" + card.name() + "] produced " + out.dim() + " dims, its card says " + card.dims());
        }
        for (int r = 0; r < out.batch(); r++) {
            float[] v = card.pooling().pool(out.hidden(), out.mask(), r, out.seqLen(), out.dim());
            vectors[plan.order()[from + r]] = card.normalize() ? Vectors.l2Normalize(v) : v;
        }
        stats.batches.increment();
        stats.paddedTokens.add((long) out.batch() * out.seqLen());
    }

    public Tokens[] tokenize(List<String> texts, Role role) {
        List<String> prompted = texts.stream().map(t -> card.prompt().apply(role, t)).toList();
        return nativeThread.call(() -> tokenizer.tokenize(prompted));
    }

    @Override
    public void close() {
        try {
            nativeThread.call(() -> {
                try {
                    model.close();
                } finally {
                    tokenizer.close();
                }
                return null;
            });
        } finally {
            nativeThread.close();
        }
    }
}

package org.embeddings.encoder;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.encoder.passages.PassageCutter;
import org.embeddings.encoder.passages.TextWindows;

/**
 * Turns texts into vectors the way one model was trained to be used:
 * prompt for the role, tokenize (truncating to the card's limit), cut into length-sorted sub-batches under a token
 * budget, run the ONNX graph, pool each row by the card's strategy, L2-normalize when the card says so.
 * Results come back in input order. Thread-safe; one instance per model per node. All native work runs on the
 * model's {@link NativeThread}, one sub-batch per task, in the caller's {@link Lane}; a document job runs as many
 * sub-batches at once as that thread has workers. A text's vector does not depend on which sub-batch or worker ran
 * it (the batch-invariance tests), so how the work is spread changes speed only.
 *
 * <p>Lifecycle: every call and every {@link Job} holds a lease on the encoder while it uses the native session.
 * {@link #retire} (a model being unloaded) refuses new leases with a {@link ModelUnavailableException} and closes the
 * encoder when the last lease ends, so that work in flight finishes on a live session and nothing runs on a closed
 * one. {@link #close()} closes at once (the node is shutting down).
 */
public final class Encoder implements Closeable {
    /** Queries count as arriving for this long after the last one came: document work yields in slices meanwhile. */
    static final long QUERIES_ARRIVING_NANOS = 1_000_000_000L;
    /**
     * Sub-batches a document job's step runs per worker: enough that the workers seldom wait for each other at the
     * step's end, few enough that the caller checks its deadline every few hundred milliseconds.
     */
    static final int SUB_BATCHES_PER_WORKER = 4;

    private final ModelCard card;
    private final ModelTokenizer tokenizer;
    private final OnnxModel model;
    /** Runs an interactive batch of one text: {@link #model} itself, or its {@link LoneQuerySession}. */
    private final OnnxModel lone;

    private final TokenBudgetBatcher batcher;
    /** Which texts are too long to run on this node ({@code embeddings.onnx.max_run_memory}). */
    private final RunMemory runMemory;

    private final NativeThread nativeThread;
    private final EncoderStats stats = new EncoderStats();
    /** Guards the lease count and the lifecycle flags below. */
    private final Object leaseLock = new Object();

    private int leases;
    private Runnable onRetired;
    private boolean closed;

    /** Takes ownership of all parts; tokenizer and model calls run on {@code nativeThread}. */
    public Encoder(
            ModelCard card,
            ModelTokenizer tokenizer,
            OnnxModel model,
            TokenBudgetBatcher batcher,
            NativeThread nativeThread) {
        this(card, tokenizer, model, model, batcher, nativeThread);
    }

    /** As the six-argument constructor, with no bound on a run's working memory. */
    public Encoder(
            ModelCard card,
            ModelTokenizer tokenizer,
            OnnxModel model,
            OnnxModel lone,
            TokenBudgetBatcher batcher,
            NativeThread nativeThread) {
        this(card, tokenizer, model, lone, batcher, RunMemory.unbounded(card.name(), card.dims()), nativeThread);
    }

    /**
     * Takes ownership of all parts, {@code lone} included: the session that runs an interactive batch of one text
     * ({@link LoneQuerySession}; {@code model} where there is none). A text whose run would need more working memory
     * than {@code runMemory} allows is refused with a 400 before anything runs.
     */
    public Encoder(
            ModelCard card,
            ModelTokenizer tokenizer,
            OnnxModel model,
            OnnxModel lone,
            TokenBudgetBatcher batcher,
            RunMemory runMemory,
            NativeThread nativeThread) {
        this.card = card;
        this.runMemory = runMemory;
        this.tokenizer = tokenizer;
        this.model = model;
        this.lone = lone;
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
    OnnxModel onnx() {
        return model;
    }

    /** Session runs this model does at once: its native thread's workers. */
    public int workers() {
        return nativeThread.workers();
    }

    /** The threads this model's native work runs on (tests of their concurrency). */
    NativeThread nativeThread() {
        return nativeThread;
    }

    /** Whether a query that comes alone runs on a session of its own ({@link LoneQuerySession}). */
    public boolean hasLoneSession() {
        return lone != model;
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

    /** Encodes texts for a role in the given lane of this model's native thread (tests of the lanes). */
    float[][] encode(List<String> texts, Role role, Lane lane) {
        return start(texts, role, lane).finish();
    }

    /** Where an interactive encode's texts come from and where its vectors go; both run on the model's thread. */
    public interface Interactive {
        /** The texts to encode, taken when the encode starts (empty: nothing to do). */
        List<String> take();

        /** The vectors of the texts {@link #take()} gave, in their order. */
        void done(List<String> texts, float[][] vectors);

        /** The encode failed; the texts taken, if any, are the caller's to fail. */
        void failed(List<String> texts, Exception e);

        /**
         * The text at {@code position} of those taken is refused ({@link RunMemory}: too long to run on this node):
         * true if the caller failed it alone, so that the others still run and {@link #done} gets a null vector at
         * its position; false (the default) to fail the whole encode with {@code refusal}.
         */
        default boolean refusedAlone(int position, RuntimeException refusal) {
            return false;
        }
    }

    /**
     * Encodes, in one task on this model's thread in the interactive lane, the texts {@code work} gives when the task
     * starts: tokenizing, every sub-batch and pooling in that one task, then {@code work.done} on that thread, without
     * waiting for it here. Made for queries: a query hops to the model's thread once (not once for tokenizing and once
     * per sub-batch, each with a caller blocked on it), and queries that arrived while the task waited ride in it.
     * Where the time goes is counted in {@link EncoderStats.Stages}.
     */
    public void encodeInteractive(Role role, Interactive work) {
        Lease lease = lease();
        long submitted = System.nanoTime();
        try {
            nativeThread.submit(Lane.INTERACTIVE, () -> {
                List<String> texts = List.of();
                try (lease) {
                    long start = System.nanoTime();
                    texts = work.take();
                    if (texts.isEmpty()) {
                        return;
                    }
                    Tokens[] tokens = tokenizer.tokenize(prompted(texts, role));
                    long tokenized = System.nanoTime();
                    Tokens[] runs = tokens;
                    int[] at = null; // where each text that runs sits among those taken, when some are refused
                    List<Integer> refused = runMemory.refused(tokens);
                    if (refused.isEmpty() == false) {
                        boolean[] out = new boolean[tokens.length];
                        for (int i : refused) {
                            // queries ride together: the message is the refused query's own, not the batch's
                            RuntimeException refusal = runMemory.refusal(tokens[i].length());
                            if (work.refusedAlone(i, refusal) == false) {
                                throw refusal;
                            }
                            out[i] = true;
                        }
                        runs = new Tokens[tokens.length - refused.size()];
                        at = new int[runs.length];
                        for (int i = 0, j = 0; i < tokens.length; i++) {
                            if (out[i] == false) {
                                runs[j] = tokens[i];
                                at[j++] = i;
                            }
                        }
                    }
                    TokenBudgetBatcher.Plan plan = batcher.plan(runs);
                    float[][] ran = new float[runs.length][];
                    long pooling = 0;
                    for (int b = 0; b < plan.batches(); b++) {
                        int from = plan.bounds()[b];
                        int to = plan.bounds()[b + 1];
                        OnnxModel session = to - from == 1 ? lone : model;
                        pooling += runRows(session, runs, plan, from, to, ran);
                        if (session != model) {
                            stats.interactiveLoneRuns.increment();
                        }
                    }
                    float[][] vectors = ran;
                    if (at != null) {
                        vectors = new float[tokens.length][];
                        for (int j = 0; j < at.length; j++) {
                            vectors[at[j]] = ran[j];
                        }
                    }
                    long done = System.nanoTime();
                    countEncode(runs, done - tokenized);
                    stats.interactive.increment();
                    stats.interactiveWaitNanos.add(start - submitted);
                    stats.interactiveTokenizeNanos.add(tokenized - start);
                    stats.interactiveRunNanos.add(done - tokenized - pooling);
                    stats.interactivePoolNanos.add(pooling);
                    work.done(texts, vectors);
                } catch (RuntimeException | Error e) {
                    work.failed(texts, e instanceof RuntimeException r ? r : new IllegalStateException(e));
                }
            });
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    /**
     * Prompts and tokenizes {@code texts} and plans their sub-batches, without running the model yet: the caller
     * runs the job one sub-batch at a time ({@link Job#step()}), so that work in a more urgent lane can run between
     * two sub-batches of a long one.
     */
    public Job start(List<String> texts, Role role, Lane lane) {
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null || text.isBlank()) {
                throw new InvalidInputException(
                        "text " + (texts.size() == 1 ? "" : "[" + i + "] ") + "is empty; nothing to embed");
            }
        }
        List<String> prompted = prompted(texts, role);
        Lease lease = lease();
        try {
            Tokens[] tokens = nativeThread.call(lane, () -> tokenizer.tokenize(prompted));
            return new Job(tokens, lane, lease);
        } catch (RuntimeException | Error e) {
            lease.close();
            throw e;
        }
    }

    /**
     * Encodes each text as passages: windows cut by {@code chunking} in the model's own tokens (see
     * {@link TextWindows}), each encoded for {@code role}; the passages of all texts go to the model together, in
     * the same length-sorted batches as {@link #encode}. A text that fits one window is one passage spanning all of
     * it, encoded exactly as {@link #encode} encodes it. Every window is tokenized as the model will read it and
     * checked against {@code chunking.maxTokens()}; a text whose windows do not fit (a tokenizer whose count of a
     * substring differs from its tokens' count in the whole text) is cut again with a smaller budget, so that no
     * window is ever truncated.
     */
    public List<List<Passage>> encodePassages(List<String> texts, Role role, Chunking chunking) {
        return startPassages(texts, null, role, chunking, TextWindows.Ends.DEFAULT, Lane.BULK)
                .finish();
    }

    /**
     * Cuts and tokenizes the passages of {@code texts} on the model's native thread, in {@code lane}, and plans one
     * encode of all of them; the caller runs it a sub-batch at a time ({@link PassageJob#step()}), as a {@link Job}.
     * Each text's title, if any, stands before every passage of it ({@code titles} null, or null at a text without
     * one; see {@link PassageCutter}).
     */
    public PassageJob startPassages(
            List<String> original,
            List<String> titles,
            Role role,
            Chunking chunking,
            TextWindows.Ends ends,
            Lane lane) {
        chunking.checkFits(card);
        // spans stay offsets into the original texts: the replacement keeps every UTF-16 offset
        List<String> texts = UnpairedSurrogates.replace(original);
        List<String> heads = UnpairedSurrogates.replace(titles);
        if (titles != null && titles.size() != texts.size()) {
            throw new IllegalArgumentException(titles.size() + " titles for " + texts.size() + " texts");
        }
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null || text.isBlank()) {
                throw new InvalidInputException(
                        "text " + (texts.size() == 1 ? "" : "[" + i + "] ") + "is empty; nothing to embed");
            }
        }
        Lease lease = lease();
        try {
            List<PassageCutter.Cut> cuts =
                    nativeThread.call(lane, () -> cutter(role, chunking, ends).cut(texts, heads));
            int total = 0;
            for (PassageCutter.Cut cut : cuts) {
                total += cut.tokens().length;
            }
            Tokens[] all = new Tokens[total];
            int at = 0;
            for (PassageCutter.Cut cut : cuts) {
                System.arraycopy(cut.tokens(), 0, all, at, cut.tokens().length);
                at += cut.tokens().length;
            }
            return new PassageJob(cuts, new Job(all, lane, lease));
        } catch (RuntimeException | Error e) {
            lease.close();
            throw e;
        }
    }

    /** The encode of the passages of several texts: one {@link Job} over all windows, then each text's passages. */
    public static final class PassageJob implements AutoCloseable {
        private final List<PassageCutter.Cut> cuts;
        private final Job job;

        private PassageJob(List<PassageCutter.Cut> cuts, Job job) {
            this.cuts = cuts;
            this.job = job;
        }

        public boolean done() {
            return job.done();
        }

        /** Passages of all texts together: the vectors this job will make. */
        public int passages() {
            return job.size();
        }

        public void step() {
            job.step();
        }

        @Override
        public void close() {
            job.close();
        }

        /** Runs what remains and returns each text's passages, with their spans and vectors, in input order. */
        public List<List<Passage>> finish() {
            float[][] vectors = job.finish();
            List<List<Passage>> out = new ArrayList<>(cuts.size());
            int at = 0;
            for (PassageCutter.Cut cut : cuts) {
                List<Passage> passages = new ArrayList<>(cut.tokens().length);
                for (int w = 0; w < cut.tokens().length; w++) {
                    passages.add(new Passage(cut.starts()[w], cut.ends()[w], vectors[at++]));
                }
                out.add(passages);
            }
            return out;
        }
    }

    /**
     * The windows {@link #startPassages} would encode, cut and tokenized but not run: for callers that encode only
     * the windows whose vectors they do not hold yet ({@link #startTokens}).
     */
    public List<PassageCutter.Cut> cutPassages(
            List<String> texts, List<String> titles, Role role, Chunking chunking, TextWindows.Ends ends) {
        chunking.checkFits(card);
        List<String> replaced = UnpairedSurrogates.replace(texts);
        List<String> heads = UnpairedSurrogates.replace(titles);
        try (Lease lease = lease()) {
            return nativeThread.call(() -> cutter(role, chunking, ends).cut(replaced, heads));
        }
    }

    private PassageCutter cutter(Role role, Chunking chunking, TextWindows.Ends ends) {
        return new PassageCutter(tokenizer, card.prompt(), role, chunking, ends);
    }

    /**
     * Runs already tokenized texts in the bulk lane, a sub-batch per native call: windows cut by
     * {@link #cutPassages} of which only some need a vector, and benchmarks that time tokenization and inference apart.
     */
    float[][] encodeTokens(Tokens[] tokens) {
        return new Job(tokens, Lane.BULK, lease()).finish();
    }

    /** {@link #encodeTokens} as a job the caller steps, one sub-batch at a time (see {@link #start}). */
    public Job startTokens(Tokens[] tokens, Lane lane) {
        return new Job(tokens, lane, lease());
    }

    /** Runs a task on this model's native thread (benchmarks drive {@link #onnx()} through it). */
    <T> T onNativeThread(Callable<T> task) {
        try (Lease lease = lease()) {
            return nativeThread.call(task);
        }
    }

    /**
     * One encode of tokenized texts, cut by the batcher into length-sorted sub-batches that run one per
     * {@link #step()}. It holds a lease on the encoder until its last sub-batch ran, a step failed, or it is closed
     * (a caller that gives up on a job closes it). Not thread-safe: one caller drives a job.
     */
    public final class Job implements AutoCloseable {
        private final Tokens[] tokens;
        private final Lane lane;
        private final TokenBudgetBatcher.Plan plan;
        private final float[][] vectors;
        private final Lease lease;
        private int next;
        private long nanos;

        private Job(Tokens[] tokens, Lane lane, Lease lease) {
            this.tokens = tokens;
            this.lane = lane;
            this.lease = lease;
            List<Integer> refused = runMemory.refused(tokens);
            if (refused.isEmpty() == false) {
                lease.close();
                throw runMemory.refusal(tokens, refused);
            }
            this.plan = batcher.plan(tokens);
            this.vectors = new float[tokens.length][];
            if (plan.batches() == 0) {
                lease.close();
            }
        }

        /** Gives the job up (or ends it), releasing its lease; idempotent. */
        @Override
        public void close() {
            lease.close();
        }

        public boolean done() {
            return next == plan.batches();
        }

        /** Texts in this job. */
        public int size() {
            return tokens.length;
        }

        /**
         * Runs the next sub-batches on the model's native thread, in this job's lane: up to
         * {@value #SUB_BATCHES_PER_WORKER} per worker, as many at once as it has workers, each a chain of the
         * batcher's query slices, one native task per slice, while queries arrive (the choice is made again before
         * each slice). A worker that ends a sub-batch takes the next one not yet taken, so that a short sub-batch
         * leaves no worker idle until the step's last ones. Returns once all of them ran; a failure of one is thrown
         * after the others ended, and no sub-batch starts after it.
         */
        public void step() {
            if (done()) {
                throw new IllegalStateException("the job is done");
            }
            int first = next;
            int workers = nativeThread.onWorker() ? 1 : nativeThread.workers();
            int last = workers == 1 ? first + 1 : Math.min(plan.batches(), first + workers * SUB_BATCHES_PER_WORKER);
            next = last;
            long start = System.nanoTime();
            try {
                if (last - first == 1) {
                    runSubBatch(first);
                } else {
                    runSubBatches(first, last, Math.min(workers, last - first));
                }
            } catch (RuntimeException | Error e) {
                lease.close();
                throw e;
            }
            nanos += System.nanoTime() - start;
            if (done()) {
                lease.close();
                countEncode(tokens, nanos);
            }
        }

        /** Runs sub-batch {@code b}, a native call per slice, on the calling thread's turn. */
        private void runSubBatch(int b) {
            int to = plan.bounds()[b + 1];
            for (int from = plan.bounds()[b]; from < to; ) {
                int end = sliceEnd(from, to);
                int rows = from;
                nativeThread.call(lane, () -> {
                    runRows(model, tokens, plan, rows, end, vectors);
                    return null;
                });
                from = end;
            }
        }

        /** Runs sub-batches {@code [first, last)} in {@code chains} chains at once, each taking the next not taken. */
        private void runSubBatches(int first, int last, int chains) {
            AtomicInteger taken = new AtomicInteger(first);
            AtomicBoolean stop = new AtomicBoolean();
            List<Chain> running = new ArrayList<>(chains);
            for (int c = 0; c < chains; c++) {
                Chain chain = new Chain(taken, last, stop);
                running.add(chain);
                chain.nextSubBatch();
            }
            Throwable failure = null;
            for (Chain chain : running) {
                try {
                    chain.done.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stop.set(true);
                    throw new IllegalStateException("interrupted while waiting for native code", e);
                } catch (ExecutionException e) {
                    failure = failure == null ? e.getCause() : failure;
                }
            }
            if (failure instanceof RuntimeException r) {
                throw r;
            }
            if (failure instanceof Error err) {
                throw err;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
        }

        /** Where the slice that starts at row {@code from} of a sub-batch ending at row {@code to} ends. */
        private int sliceEnd(int from, int to) {
            return lane == Lane.BULK && nativeThread.interactiveWithin(QUERIES_ARRIVING_NANOS)
                    ? batcher.slice(tokens, plan, from, to)
                    : to;
        }

        /**
         * Sub-batches run one after another as a chain of slice tasks, each submitting the next; {@link #done}
         * completes when no sub-batch is left to take, or at the first failure.
         */
        private final class Chain {
            private final AtomicInteger taken;
            private final int last;
            private final AtomicBoolean stop;
            private final CompletableFuture<Void> done = new CompletableFuture<>();
            /** The end row of the sub-batch this chain runs; passed from task to task through the queue's lock. */
            private int to;

            private Chain(AtomicInteger taken, int last, AtomicBoolean stop) {
                this.taken = taken;
                this.last = last;
                this.stop = stop;
            }

            private void nextSubBatch() {
                int b = stop.get() ? last : taken.getAndIncrement();
                if (b >= last) {
                    done.complete(null);
                    return;
                }
                to = plan.bounds()[b + 1];
                submit(plan.bounds()[b]);
            }

            private void submit(int from) {
                try {
                    nativeThread.submit(lane, () -> runFrom(from));
                } catch (RuntimeException | Error e) {
                    fail(e);
                }
            }

            private void runFrom(int from) {
                try {
                    if (stop.get()) {
                        done.complete(null);
                        return;
                    }
                    int end = sliceEnd(from, to);
                    runRows(model, tokens, plan, from, end, vectors);
                    if (end < to) {
                        submit(end);
                    } else {
                        nextSubBatch();
                    }
                } catch (RuntimeException | Error e) {
                    fail(e);
                }
            }

            private void fail(Throwable e) {
                stop.set(true);
                done.completeExceptionally(e);
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

    /**
     * Runs rows {@code [from, to)} of {@code plan}'s order as one batch on {@code session}; returns the nanoseconds
     * spent pooling.
     */
    private long runRows(
            OnnxModel session, Tokens[] tokens, TokenBudgetBatcher.Plan plan, int from, int to, float[][] vectors) {
        OnnxModel.Output out = session.run(tokens, plan.order(), from, to);
        if (out.dim() != card.dims()) {
            throw new ModelLoadException(
                    "model [" + card.name() + "] produced " + out.dim() + " dims, its card says " + card.dims());
        }
        long pooling = System.nanoTime();
        for (int r = 0; r < out.batch(); r++) {
            vectors[plan.order()[from + r]] = out.vector(card, r);
        }
        pooling = System.nanoTime() - pooling;
        stats.batches.increment();
        // the width fed, not the output's: a graph cut to the first token returns one position per row
        stats.paddedTokens.add((long) out.batch() * out.paddedWidth());
        return pooling;
    }

    /** The model input of each text for {@code role}: lone surrogates replaced, the role's prompt applied. */
    private List<String> prompted(List<String> texts, Role role) {
        List<String> prompted = new ArrayList<>(texts.size());
        for (String text : texts) {
            prompted.add(card.prompt().apply(role, UnpairedSurrogates.replace(text)));
        }
        return prompted;
    }

    /** Counts one finished encode of {@code tokens} that spent {@code inferenceNanos} in the model. */
    private void countEncode(Tokens[] tokens, long inferenceNanos) {
        stats.requests.increment();
        stats.texts.add(tokens.length);
        for (Tokens t : tokens) {
            stats.tokens.add(t.length());
        }
        stats.inferenceNanos.add(inferenceNanos);
    }

    /** The model inputs of {@code texts} for {@code role}, prompted and tokenized (tests and benchmarks). */
    Tokens[] tokenize(List<String> texts, Role role) {
        List<String> prompted = prompted(texts, role);
        try (Lease lease = lease()) {
            return nativeThread.call(() -> tokenizer.tokenize(prompted));
        }
    }

    /**
     * A lease on this encoder's native session; refused once the encoder is retired or closed. Closing a lease
     * twice is harmless.
     */
    Lease lease() {
        synchronized (leaseLock) {
            if (onRetired != null || closed) {
                throw new ModelUnavailableException("model [" + card.name() + "] was unloaded");
            }
            leases++;
            return new Lease();
        }
    }

    /** Work in flight on this encoder: leases not yet closed. */
    public int leases() {
        synchronized (leaseLock) {
            return leases;
        }
    }

    /** Holds the encoder open; see {@link #lease()}. */
    final class Lease implements AutoCloseable {
        private boolean released;

        @Override
        public void close() {
            boolean last;
            synchronized (leaseLock) {
                if (released) {
                    return;
                }
                released = true;
                leases--;
                last = leases == 0 && onRetired != null && closed == false;
            }
            if (last) {
                closeRetired();
            }
        }
    }

    /**
     * Refuses new work and closes this encoder once the work in flight is done (at once when there is none), then
     * runs {@code onClosed}. Calls after the first are ignored.
     */
    public void retire(Runnable onClosed) {
        boolean now;
        synchronized (leaseLock) {
            if (onRetired != null || closed) {
                return;
            }
            onRetired = onClosed;
            now = leases == 0;
        }
        if (now) {
            closeRetired();
        }
    }

    private void closeRetired() {
        Runnable after;
        synchronized (leaseLock) {
            after = onRetired;
        }
        try {
            close();
        } finally {
            after.run();
        }
    }

    /** Closes the session and tokenizer now, whatever is in flight (work after this fails); idempotent. */
    @Override
    public void close() {
        synchronized (leaseLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            nativeThread.callExclusive(() -> {
                try {
                    if (lone != model) {
                        lone.close();
                    }
                } finally {
                    try {
                        model.close();
                    } finally {
                        tokenizer.close();
                    }
                }
                return null;
            });
        } finally {
            nativeThread.close();
        }
    }
}

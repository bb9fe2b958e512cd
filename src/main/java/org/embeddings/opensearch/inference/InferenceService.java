package org.embeddings.opensearch.inference;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.Lane;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.models.RecipeFingerprint;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.encoder.passages.PassageCutter;
import org.embeddings.encoder.passages.TextWindows;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.util.concurrent.AbstractRunnable;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.threadpool.Scheduler;
import org.opensearch.threadpool.ThreadPool;

/**
 * The one door from OpenSearch to the encoder. Inference runs only on the plugin's own pools, in two lanes, and model
 * loads run on neither:
 * <ul>
 *   <li><b>documents</b> ({@value #DOCUMENT_POOL}: ingest batches and the REST embed API). A task encodes one
 *       request's texts one sub-batch at a time in the model's bulk lane, and completes its listener on the generic
 *       pool, never on the inference thread. Each batch has a deadline ({@link DocumentDeadline}: its bulk's
 *       {@code timeout}, else {@code embeddings.document.timeout}); past it the batch fails with 429 at once, whether
 *       it waits for the pool, for its model's load, or between two of its sub-batches.</li>
 *   <li><b>queries</b>. Query texts first try the {@link QueryVectorCache}; misses are micro-batched per model
 *       ({@link QueryBatcher}, at most {@code embeddings.query.max_waiting} waiting per model, past which a query gets
 *       429) and encoded in one task on the model's own thread in its interactive lane
 *       ({@link Encoder#encodeInteractive}), which goes before waiting document sub-batches ({@link Lane}): a query
 *       waits for the sub-batch already running and, while documents wait, for at most one more. No pool thread
 *       blocks on a query's encode. Listeners continue on the search pool. Every query has a deadline (its search's
 *       timeout, else {@code embeddings.query.timeout}); past it the query fails at once, with 429 (the lane is
 *       overloaded: back off, as for a full queue), or 503 when its model is still loading.</li>
 *   <li><b>loads</b> ({@value #LOAD_POOL}) belong to the {@link ModelRegistry}: a request for a model that is not
 *       loaded gets the load's future and continues when it completes, so no request thread (search, write, or the
 *       two lanes') ever builds or waits for a model, and queries for other models keep their pace meanwhile. A search
 *       may start a load only as {@link SearchLoads} allows (else a 400 that names the switch); documents and the
 *       embed API (a {@code cluster:admin} action) may load the model they name.</li>
 * </ul>
 * A full queue rejects the task with 429. Every listener is completed exactly once.
 */
public final class InferenceService {
    public static final String DOCUMENT_POOL = "embeddings";
    public static final String LOAD_POOL = "embeddings_load";

    /** Where work runs and where its results continue. */
    public record Pools(
            ExecutorService documents, Executor documentResponder, Executor queryResponder, Scheduler scheduler) {
        /**
         * The node's pools: the plugin's document pool, responses on the generic and search pools. Queries need no
         * pool of their own: they encode in one task on their model's thread ({@link Encoder#encodeInteractive}).
         */
        public static Pools of(ThreadPool threadPool) {
            return new Pools(
                    threadPool.executor(DOCUMENT_POOL),
                    threadPool.executor(ThreadPool.Names.GENERIC),
                    threadPool.executor(ThreadPool.Names.SEARCH),
                    threadPool);
        }
    }

    /**
     * How long work may wait: a query without a search timeout ({@code queryTimeout}), a document batch outside a
     * bulk ({@code documentTimeout}), and how many queries may wait per model ({@code maxWaitingQueries}).
     */
    public record Limits(TimeValue queryTimeout, TimeValue documentTimeout, int maxWaitingQueries) {}

    private final ModelRegistry registry;
    private final Pools pools;
    private final QueryVectorCache cache;
    private final Limits limits;
    private final SearchLoads loadPolicy;
    private final Supplier<BulkDeadlineFilter.Deadline> bulkDeadline;
    private final QueryBatcher batcher;
    private final LongAdder rejections = new LongAdder();
    private final LongAdder queryTimeouts = new LongAdder();
    private final LongAdder documentTimeouts = new LongAdder();
    private final LatencyHistogram documentWait = new LatencyHistogram();
    private final LatencyHistogram documentInference = new LatencyHistogram();
    private final LatencyHistogram queryWait = new LatencyHistogram();
    private final LatencyHistogram queryInference = new LatencyHistogram();

    /**
     * @param bulkDeadline the deadline of the bulk the calling thread works for, or null
     */
    public InferenceService(
            ModelRegistry registry,
            Pools pools,
            QueryVectorCache cache,
            Limits limits,
            SearchLoads loadPolicy,
            Supplier<BulkDeadlineFilter.Deadline> bulkDeadline) {
        this.registry = registry;
        this.pools = pools;
        this.cache = cache;
        this.limits = limits;
        this.loadPolicy = loadPolicy;
        this.bulkDeadline = bulkDeadline;
        this.batcher = new QueryBatcher(limits.maxWaitingQueries());
    }

    public ModelRegistry registry() {
        return registry;
    }

    public TimeValue defaultQueryTimeout() {
        return limits.queryTimeout();
    }

    /**
     * A model failure as OpenSearch should answer it: a load past the memory limit is a 429, a model that cannot
     * serve for the node's reasons (a transient load failure, unloaded while a request waited) a 503; anything else
     * keeps its own status (a broken model or bad input is a 400).
     */
    public static Exception translate(Throwable t) {
        RuntimeException e = ModelRegistry.unwrap(t);
        if (e instanceof ModelMemoryLimitException) {
            return new OpenSearchStatusException(e.getMessage(), RestStatus.TOO_MANY_REQUESTS);
        }
        if (e instanceof ModelUnavailableException) {
            return new OpenSearchStatusException(e.getMessage(), RestStatus.SERVICE_UNAVAILABLE);
        }
        return e;
    }

    /** Whether {@code model} has a load in flight (and is not loaded yet). */
    private boolean stillLoading(String model) {
        return registry.isLoadedOrLoading(model)
                && registry.loadedEncoder(model).isEmpty();
    }

    /** Encodes {@code texts} for {@code role} with {@code model} in the document lane. */
    public void embed(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        runDocuments(model, texts.size(), listener, (encoder, deadline) -> {
            try (Encoder.Job job = encoder.start(texts, role, Lane.BULK)) {
                while (job.done() == false) {
                    deadline.check(System.nanoTime(), model, texts.size());
                    job.step();
                }
                return job.finish();
            }
        });
    }

    /**
     * Encodes {@code texts} for {@code role} in the query lane, uncached: inference a search needs while it runs (a
     * highlighter's fetch-time sentences), which must not wait behind document batches. Completes on the query pool.
     * As for query texts, a model that is neither loaded nor loading is loaded (on the loader, never on this lane) only
     * if the {@link SearchLoads} allows it, else a 400 naming the switch.
     */
    public void embedInteractive(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        ActionListener<float[][]> once = ActionListener.notifyOnce(listener);
        if (registry.isLoadedOrLoading(model) == false && loadPolicy.mayLoad(model) == false) {
            once.onFailure(new IllegalArgumentException(loadPolicy.refusal(model)));
            return;
        }
        CompletableFuture<Encoder> loaded;
        try {
            loaded = registry.encoderAsync(model);
        } catch (RuntimeException e) {
            once.onFailure(translate(e));
            return;
        }
        loaded.whenComplete((ignored, failure) -> {
            if (failure != null) {
                once.onFailure(translate(failure));
                return;
            }
            try {
                Encoder encoder = registry.loadedEncoder(model)
                        .orElseThrow(() -> new ModelUnavailableException(
                                "model [" + model + "] was unloaded while a search waited for it"));
                long queued = System.nanoTime();
                // the listener runs on the model's thread: the highlighter's completes a future its fetch waits on
                encoder.encodeInteractive(role, new Encoder.Interactive() {
                    private long start;

                    @Override
                    public List<String> take() {
                        start = System.nanoTime();
                        queryWait.record(start - queued);
                        return texts;
                    }

                    @Override
                    public void done(List<String> taken, float[][] vectors) {
                        queryInference.record(System.nanoTime() - start);
                        once.onResponse(vectors);
                    }

                    @Override
                    public void failed(List<String> taken, Exception e) {
                        once.onFailure(translate(e));
                    }
                });
            } catch (RuntimeException e) {
                once.onFailure(e);
            }
        });
    }

    /**
     * Encodes each text as passages cut by {@code chunking} (null: the model's defaults), each with its title before
     * every passage ({@code titles} null, or null at a text without one), in the document lane: all
     * passages of all texts in one job of length-sorted sub-batches; cutting and tokenizing run on the model's own
     * thread, not the caller's.
     */
    public void embedPassages(
            String model,
            Role role,
            List<String> texts,
            List<String> titles,
            Chunking chunking,
            ActionListener<List<List<Passage>>> listener) {
        embedPassages(model, role, texts, titles, chunking, passages -> {}, listener);
    }

    /**
     * {@link #embedPassages(String, Role, List, List, Chunking, ActionListener)} that first tells {@code admit} how
     * many passages the texts were cut into, before any of them is encoded; an exception it throws (a circuit breaker
     * refusing their bytes) fails the call instead.
     */
    public void embedPassages(
            String model,
            Role role,
            List<String> texts,
            List<String> titles,
            Chunking chunking,
            IntConsumer admit,
            ActionListener<List<List<Passage>>> listener) {
        runDocuments(model, texts.size(), listener, (encoder, deadline) -> {
            try (Encoder.PassageJob job = encoder.startPassages(
                    texts,
                    titles,
                    role,
                    chunking == null ? Chunking.defaults(encoder.card()) : chunking,
                    TextWindows.Ends.DEFAULT,
                    Lane.BULK)) {
                admit.accept(job.passages());
                while (job.done() == false) {
                    deadline.check(System.nanoTime(), model, texts.size());
                    job.step();
                }
                return job.finish();
            }
        });
    }

    /**
     * Runs one document-lane task once {@code model} is loaded (on the documents pool, timing its wait and its work,
     * counting a rejection) and completes {@code listener} exactly once: with the result on the generic pool rather
     * than the inference thread, or with the failure of the load, of the work, or of the deadline, whichever is
     * first.
     */
    private <T> void runDocuments(
            String model, int texts, ActionListener<T> listener, BiFunction<Encoder, DocumentDeadline, T> work) {
        long queued = System.nanoTime();
        BulkDeadlineFilter.Deadline bulk = bulkDeadline.get();
        DocumentDeadline deadline = bulk != null
                ? DocumentDeadline.ofBulk(bulk.nanos(), bulk.timeout())
                : DocumentDeadline.ofNode(queued, limits.documentTimeout());
        AtomicReference<Scheduler.ScheduledCancellable> timer = new AtomicReference<>();
        ActionListener<T> once = ActionListener.runBefore(ActionListener.notifyOnce(listener), () -> {
            Scheduler.ScheduledCancellable t = timer.get();
            if (t != null) {
                t.cancel();
            }
        });
        timer.set(pools.scheduler()
                .schedule(
                        () -> {
                            if (deadline.claim()) {
                                documentTimeouts.increment();
                                once.onFailure(deadline.exceeded(model, texts, stillLoading(model)));
                            }
                        },
                        TimeValue.timeValueNanos(deadline.remainingNanos(queued)),
                        ThreadPool.Names.SAME));
        CompletableFuture<Encoder> loaded;
        try {
            loaded = registry.encoderAsync(model);
        } catch (RuntimeException e) {
            if (deadline.claim()) {
                once.onFailure(translate(e));
            }
            return;
        }
        loaded.whenComplete((encoder, failure) -> {
            if (failure != null) {
                if (deadline.claim()) {
                    once.onFailure(translate(failure));
                }
                return;
            }
            try {
                pools.documents().execute(new AbstractRunnable() {
                    @Override
                    protected void doRun() {
                        long start = System.nanoTime();
                        if (deadline.claimed()) {
                            return; // answered at its deadline while it waited for the pool
                        }
                        documentWait.record(start - queued);
                        deadline.started();
                        T result = work.apply(encoder, deadline);
                        documentInference.record(System.nanoTime() - start);
                        if (deadline.claim()) {
                            try {
                                pools.documentResponder().execute(() -> once.onResponse(result));
                            } catch (RuntimeException e) {
                                once.onFailure(e);
                            }
                        }
                    }

                    @Override
                    public void onFailure(Exception e) {
                        if (deadline.claim()) {
                            once.onFailure(translate(e));
                        }
                    }

                    @Override
                    public void onRejection(Exception e) {
                        rejections.increment();
                        if (deadline.claim()) {
                            once.onFailure(e);
                        }
                    }
                });
            } catch (RuntimeException e) {
                if (deadline.claim()) {
                    once.onFailure(e);
                }
            }
        });
    }

    /**
     * The recipe fingerprint of {@code model}: at once when it is known, else in the document lane, loading the model
     * if it is not loaded and hashing its files once.
     */
    public void recipe(String model, ActionListener<RecipeFingerprint> listener) {
        RecipeFingerprint known =
                registry.recipe(model).map(RecipeFingerprint.Source::computed).orElse(null);
        if (known != null) {
            listener.onResponse(known);
            return;
        }
        runDocuments(
                model,
                0,
                listener,
                (encoder, deadline) -> registry.recipe(model)
                        .orElseThrow(
                                () -> new ModelUnavailableException("model [" + model + "] was unloaded while in use"))
                        .get());
    }

    /**
     * Cuts each text into the passage windows {@link #embedPassages} would encode (with its title, {@code titles} null
     * or null at a text without one), tokenized as the model reads them, in the document lane; nothing is encoded.
     */
    public void cutPassages(
            String model,
            Role role,
            List<String> texts,
            List<String> titles,
            Chunking chunking,
            ActionListener<List<PassageCutter.Cut>> listener) {
        runDocuments(model, texts.size(), listener, (encoder, deadline) -> {
            deadline.check(System.nanoTime(), model, texts.size());
            return encoder.cutPassages(
                    texts,
                    titles,
                    role,
                    chunking == null ? Chunking.defaults(encoder.card()) : chunking,
                    TextWindows.Ends.DEFAULT);
        });
    }

    /**
     * Encodes model inputs already tokenized (windows from {@link #cutPassages}) in the document lane, checking the
     * batch's deadline between sub-batches as {@link #embed} does.
     */
    public void embedTokens(String model, Tokens[] tokens, ActionListener<float[][]> listener) {
        runDocuments(model, tokens.length, listener, (encoder, deadline) -> {
            try (Encoder.Job job = encoder.startTokens(tokens, Lane.BULK)) {
                while (job.done() == false) {
                    deadline.check(System.nanoTime(), model, tokens.length);
                    job.step();
                }
                return job.finish();
            }
        });
    }

    /**
     * Encodes one query text in the query lane, answering from the cache (on the calling thread) when it holds the
     * text. {@code timeout} is the search's own, or null for the node's default. A model that is neither loaded nor
     * loading is loaded first only if the {@link SearchLoads} allows it; otherwise the query fails with a 400
     * naming the switch.
     */
    public void embedQuery(String model, String text, TimeValue timeout, ActionListener<float[]> listener) {
        QueryVectorCache.Key key = QueryVectorCache.key(model, text);
        float[] cached = cache.get(key);
        if (cached != null) {
            listener.onResponse(cached);
            return;
        }
        if (registry.isLoadedOrLoading(model) == false && loadPolicy.mayLoad(model) == false) {
            listener.onFailure(new IllegalArgumentException(loadPolicy.refusal(model)));
            return;
        }
        TimeValue limit = timeout == null || timeout.nanos() <= 0 ? limits.queryTimeout() : timeout;
        AtomicReference<Scheduler.ScheduledCancellable> timer = new AtomicReference<>();
        PendingQuery query = new PendingQuery(text, key, limit, ActionListener.runBefore(listener, () -> {
            Scheduler.ScheduledCancellable t = timer.get();
            if (t != null) {
                t.cancel();
            }
        }));
        timer.set(pools.scheduler().schedule(() -> expire(model, query), limit, ThreadPool.Names.SAME));
        CompletableFuture<Encoder> loaded;
        try {
            loaded = registry.encoderAsync(model);
        } catch (RuntimeException e) {
            query.fail(translate(e));
            return;
        }
        loaded.whenComplete((encoder, failure) -> {
            if (failure != null) {
                query.fail(translate(failure));
                return;
            }
            try {
                enqueue(model, query);
            } catch (RuntimeException e) {
                query.fail(e);
            }
        });
    }

    private void enqueue(String model, PendingQuery query) {
        switch (batcher.add(model, query)) {
            case OPENED -> scheduleQueryBatch(model);
            case JOINED -> {}
            case FULL -> {
                rejections.increment();
                query.fail(new OpenSearchStatusException(
                        "too many queries are waiting for model [" + model + "] on this node (at most "
                                + batcher.maxWaiting() + ", embeddings.query.max_waiting); retry later",
                        RestStatus.TOO_MANY_REQUESTS));
            }
        }
    }

    /** Fails a query whose deadline has passed, unless it was answered already. */
    private void expire(String model, PendingQuery query) {
        String message = stillLoading(model)
                ? "model [" + model + "] is still loading on this node and was not ready within the query's deadline ["
                        + query.limit + "] (the search's timeout, else embeddings.query.timeout); retry later"
                : "encoding the query text with model [" + model + "] did not finish within its deadline ["
                        + query.limit + "] (the search's timeout, else embeddings.query.timeout); the query lane is"
                        + " overloaded, retry later";
        // an overloaded lane is the client's cue to back off (429), as a full queue is; not a server failure (5xx)
        boolean failed = query.fail(new OpenSearchStatusException(
                message, stillLoading(model) ? RestStatus.SERVICE_UNAVAILABLE : RestStatus.TOO_MANY_REQUESTS));
        if (failed) {
            queryTimeouts.increment();
        }
    }

    /**
     * One encode that takes every query waiting for {@code model} when it starts. It runs as a single task on the
     * model's own thread in the interactive lane ({@link Encoder#encodeInteractive}): the query hops threads once to
     * get there and once to go back to the search pool, with no pool thread blocked in between.
     */
    private void scheduleQueryBatch(String model) {
        Encoder encoder = registry.loadedEncoder(model).orElse(null);
        if (encoder == null) {
            failWaiting(
                    model,
                    new ModelUnavailableException("model [" + model + "] was unloaded while queries waited for it"));
            return;
        }
        long queued = System.nanoTime();
        try {
            encoder.encodeInteractive(Role.QUERY, new Encoder.Interactive() {
                private List<PendingQuery> live = List.of();
                private long start;

                @Override
                public List<String> take() {
                    start = System.nanoTime();
                    queryWait.record(start - queued);
                    List<PendingQuery> batch = batcher.take(model);
                    batch.stream()
                            .filter(q -> q.done() == false && q.expired(start))
                            .forEach(q -> expire(model, q));
                    live = batch.stream()
                            .filter(q -> q.done() == false && q.expired(start) == false)
                            .toList();
                    return live.stream().map(q -> q.text).toList();
                }

                @Override
                public void done(List<String> texts, float[][] vectors) {
                    queryInference.record(System.nanoTime() - start);
                    for (int i = 0; i < vectors.length; i++) {
                        PendingQuery q = live.get(i);
                        float[] vector = vectors[i];
                        if (vector == null) {
                            continue; // refused alone (refusedAlone)
                        }
                        cache.put(q.key, vector);
                        try {
                            pools.queryResponder().execute(() -> q.respond(vector));
                        } catch (RuntimeException e) {
                            // the search pool refused the hand-off (its queue is full): this query fails alone
                            q.fail(e);
                        }
                    }
                }

                @Override
                public void failed(List<String> texts, Exception e) {
                    Exception translated = translate(e);
                    live.forEach(q -> q.fail(translated));
                }

                @Override
                public boolean refusedAlone(int position, RuntimeException refusal) {
                    live.get(position).fail(refusal);
                    return true;
                }
            });
        } catch (RuntimeException e) {
            // the model's thread is closed (unloaded meanwhile)
            failWaiting(model, translate(e));
        }
    }

    private void failWaiting(String model, Exception e) {
        batcher.take(model).forEach(q -> q.fail(e));
    }

    /** This node's service-level counters (the encoder keeps its own per model). */
    public record Stats(
            long cacheHits,
            long cacheMisses,
            long cacheEntries,
            long cacheBytes,
            long cacheMaxBytes,
            long rejections,
            long queryTimeouts,
            long documentTimeouts,
            double[] documentWaitMillis,
            double[] documentInferenceMillis,
            double[] queryWaitMillis,
            double[] queryInferenceMillis) {
        public static final double[] PERCENTILES = {50, 90, 99};
    }

    public Stats stats() {
        return new Stats(
                cache.hits(),
                cache.misses(),
                cache.entries(),
                cache.bytes(),
                cache.maxBytes(),
                rejections.sum(),
                queryTimeouts.sum(),
                documentTimeouts.sum(),
                documentWait.percentilesMillis(Stats.PERCENTILES),
                documentInference.percentilesMillis(Stats.PERCENTILES),
                queryWait.percentilesMillis(Stats.PERCENTILES),
                queryInference.percentilesMillis(Stats.PERCENTILES));
    }
}

package org.embeddings.opensearch.inference;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.embeddings.encoder.Chunking;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.Lane;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelRegistry;
import org.embeddings.encoder.Passage;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.TextWindows;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.util.concurrent.AbstractRunnable;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.threadpool.Scheduler;
import org.opensearch.threadpool.ThreadPool;

/**
 * The one door from OpenSearch to the encoder. Inference runs only on the plugin's own pools, in two lanes:
 * <ul>
 *   <li><b>documents</b> ({@value #DOCUMENT_POOL}: ingest batches and the REST embed API). A task encodes one
 *       request's texts one sub-batch at a time in the model's bulk lane, and completes its listener on the generic
 *       pool, never on the inference thread.</li>
 *   <li><b>queries</b> ({@value #QUERY_POOL}). Query texts first try the {@link QueryVectorCache}; misses are
 *       micro-batched per model ({@link QueryBatcher}) and run in the model's interactive lane, which goes before any
 *       waiting document sub-batch ({@link Lane}): a query waits at most for the one sub-batch already running, never
 *       behind a bulk. Listeners continue on the search pool.</li>
 * </ul>
 * Every query has a deadline (its search's timeout, else {@code embeddings.query.timeout}); past it the query fails
 * at once with 504 instead of waiting on. A full queue rejects the task with 429. No transport, search or write
 * thread ever waits on a model, and every listener is completed exactly once.
 */
public final class InferenceService {
    public static final String DOCUMENT_POOL = "embeddings";
    public static final String QUERY_POOL = "embeddings_query";

    /** Where work runs and where its results continue. */
    public record Pools(
            ExecutorService documents,
            ExecutorService queries,
            Executor documentResponder,
            Executor queryResponder,
            Scheduler scheduler) {
        /** The node's pools: the plugin's two, responses on the generic and search pools. */
        public static Pools of(ThreadPool threadPool) {
            return new Pools(
                    threadPool.executor(DOCUMENT_POOL),
                    threadPool.executor(QUERY_POOL),
                    threadPool.executor(ThreadPool.Names.GENERIC),
                    threadPool.executor(ThreadPool.Names.SEARCH),
                    threadPool);
        }
    }

    private final ModelRegistry registry;
    private final Pools pools;
    private final QueryVectorCache cache;
    private final TimeValue defaultQueryTimeout;
    private final QueryBatcher batcher = new QueryBatcher();
    private final LongAdder rejections = new LongAdder();
    private final LongAdder queryTimeouts = new LongAdder();
    private final LatencyHistogram documentWait = new LatencyHistogram();
    private final LatencyHistogram documentInference = new LatencyHistogram();
    private final LatencyHistogram queryWait = new LatencyHistogram();
    private final LatencyHistogram queryInference = new LatencyHistogram();

    public InferenceService(
            ModelRegistry registry, Pools pools, QueryVectorCache cache, TimeValue defaultQueryTimeout) {
        this.registry = registry;
        this.pools = pools;
        this.cache = cache;
        this.defaultQueryTimeout = defaultQueryTimeout;
    }

    public ModelRegistry registry() {
        return registry;
    }

    public TimeValue defaultQueryTimeout() {
        return defaultQueryTimeout;
    }

    /** A model failure as OpenSearch should answer it: a load past the memory limit is a 429, not a 400. */
    private static Exception translate(Exception e) {
        return e instanceof ModelMemoryLimitException
                ? new OpenSearchStatusException(e.getMessage(), RestStatus.TOO_MANY_REQUESTS, e)
                : e;
    }

    /** Encodes {@code texts} for {@code role} with {@code model} in the document lane. */
    public void embed(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        runDocuments(listener, () -> {
            Encoder.Job job = registry.encoder(model).start(texts, role, Lane.BULK);
            while (job.done() == false) {
                job.step();
            }
            return job.finish();
        });
    }

    /**
     * Runs one document-lane task on the documents pool (timing its wait and its work, counting a rejection) and
     * completes {@code listener} exactly once, on the generic pool rather than the inference thread.
     */
    private <T> void runDocuments(ActionListener<T> listener, Callable<T> work) {
        ActionListener<T> once = ActionListener.notifyOnce(listener);
        long queued = System.nanoTime();
        pools.documents().execute(new AbstractRunnable() {
            @Override
            protected void doRun() throws Exception {
                long start = System.nanoTime();
                documentWait.record(start - queued);
                T result = work.call();
                documentInference.record(System.nanoTime() - start);
                try {
                    pools.documentResponder().execute(() -> once.onResponse(result));
                } catch (RuntimeException e) {
                    once.onFailure(e);
                }
            }

            @Override
            public void onFailure(Exception e) {
                once.onFailure(translate(e));
            }

            @Override
            public void onRejection(Exception e) {
                rejections.increment();
                once.onFailure(e);
            }
        });
    }

    /**
     * Encodes {@code texts} for {@code role} in the query lane, uncached: inference a search needs while it runs (a
     * highlighter's fetch-time sentences), which must not wait behind document batches. Completes on the query pool.
     */
    public void embedInteractive(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        ActionListener<float[][]> once = ActionListener.notifyOnce(listener);
        pools.queries().execute(new AbstractRunnable() {
            @Override
            protected void doRun() {
                long start = System.nanoTime();
                float[][] vectors = registry.encoder(model).encode(texts, role, Lane.INTERACTIVE);
                queryInference.record(System.nanoTime() - start);
                once.onResponse(vectors);
            }

            @Override
            public void onFailure(Exception e) {
                once.onFailure(translate(e));
            }

            @Override
            public void onRejection(Exception e) {
                rejections.increment();
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
        runDocuments(listener, () -> {
            Encoder encoder = registry.encoder(model);
            Encoder.PassageJob job = encoder.startPassages(
                    texts,
                    titles,
                    role,
                    chunking == null ? Chunking.defaults(encoder.card()) : chunking,
                    TextWindows.Ends.DEFAULT,
                    Lane.BULK);
            while (job.done() == false) {
                job.step();
            }
            return job.finish();
        });
    }

    /**
     * Encodes one query text in the query lane, answering from the cache (on the calling thread) when it holds the
     * text. {@code timeout} is the search's own, or null for the node's default.
     */
    public void embedQuery(String model, String text, TimeValue timeout, ActionListener<float[]> listener) {
        float[] cached = cache.get(model, text);
        if (cached != null) {
            listener.onResponse(cached);
            return;
        }
        TimeValue limit = timeout == null || timeout.nanos() <= 0 ? defaultQueryTimeout : timeout;
        AtomicReference<Scheduler.ScheduledCancellable> timer = new AtomicReference<>();
        PendingQuery query = new PendingQuery(text, limit, ActionListener.runBefore(listener, () -> {
            Scheduler.ScheduledCancellable t = timer.get();
            if (t != null) {
                t.cancel();
            }
        }));
        timer.set(pools.scheduler().schedule(() -> expire(model, query), limit, ThreadPool.Names.SAME));
        if (batcher.add(model, query)) {
            scheduleQueryBatch(model);
        }
    }

    /** Fails a query whose deadline has passed, unless it was answered already. */
    private void expire(String model, PendingQuery query) {
        boolean failed = query.fail(new OpenSearchStatusException(
                "encoding the query text with model [" + model + "] did not finish within its deadline [" + query.limit
                        + "] (the search's timeout, else embeddings.query.timeout); the query lane is overloaded",
                RestStatus.GATEWAY_TIMEOUT));
        if (failed) {
            queryTimeouts.increment();
        }
    }

    /** One encode task that takes every query waiting for {@code model} when it starts. */
    private void scheduleQueryBatch(String model) {
        long queued = System.nanoTime();
        pools.queries().execute(new AbstractRunnable() {
            private List<PendingQuery> batch = List.of();

            @Override
            protected void doRun() {
                long start = System.nanoTime();
                queryWait.record(start - queued);
                batch = batcher.take(model).stream()
                        .filter(q -> q.done() == false)
                        .toList();
                List<PendingQuery> live =
                        batch.stream().filter(q -> q.expired(start) == false).toList();
                batch.stream().filter(q -> q.expired(start)).forEach(q -> expire(model, q));
                if (live.isEmpty()) {
                    return;
                }
                float[][] vectors = registry.encoder(model)
                        .encode(live.stream().map(q -> q.text).toList(), Role.QUERY, Lane.INTERACTIVE);
                queryInference.record(System.nanoTime() - start);
                for (int i = 0; i < vectors.length; i++) {
                    PendingQuery q = live.get(i);
                    float[] vector = vectors[i];
                    cache.put(model, q.text, vector);
                    try {
                        pools.queryResponder().execute(() -> q.respond(vector));
                    } catch (RuntimeException e) {
                        // the search pool refused the hand-off (its queue is full): this query fails alone
                        q.fail(e);
                    }
                }
            }

            @Override
            public void onFailure(Exception e) {
                Exception translated = translate(e);
                batch.forEach(q -> q.fail(translated));
            }

            @Override
            public void onRejection(Exception e) {
                rejections.increment();
                batch = batcher.take(model);
                batch.forEach(q -> q.fail(e));
            }
        });
    }

    /** This node's service-level counters (the encoder keeps its own per model). */
    public record Stats(
            long cacheHits,
            long cacheMisses,
            long cacheEntries,
            long rejections,
            long queryTimeouts,
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
                rejections.sum(),
                queryTimeouts.sum(),
                documentWait.percentilesMillis(Stats.PERCENTILES),
                documentInference.percentilesMillis(Stats.PERCENTILES),
                queryWait.percentilesMillis(Stats.PERCENTILES),
                queryInference.percentilesMillis(Stats.PERCENTILES));
    }
}

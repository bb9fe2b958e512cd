package org.embeddings.opensearch;

import org.embeddings.encoder.Chunking;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelRegistry;
import org.embeddings.encoder.Passage;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.core.rest.RestStatus;
import org.embeddings.encoder.Role;
import org.opensearch.common.cache.Cache;
import org.opensearch.common.cache.CacheBuilder;
import org.opensearch.common.util.concurrent.AbstractRunnable;
import org.opensearch.core.concurrency.OpenSearchRejectedExecutionException;
import org.opensearch.core.action.ActionListener;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.LongAdder;

/**
 * The one door from OpenSearch to the encoder: every inference runs on the plugin's own fixed thread pool, so no
 * transport, search or write thread ever waits on a model. A full queue rejects the task, which reaches the
 * listener as an {@link OpenSearchRejectedExecutionException} (HTTP 429).
 *
 * <p>Query texts go through a bounded LRU cache of vectors keyed by model and text, so a repeated query skips
 * inference and the pool entirely. Query texts that miss it are micro-batched: the first one schedules an encode
 * task for its model, and every query arriving before that task starts joins it, so concurrent queries share one
 * inference batch (short texts encode about twice as fast in batches) while a lone query waits for nobody.
 */
public final class InferenceService {
    public static final String THREAD_POOL = "embeddings";

    private record CacheKey(String model, String text) {}

    private record PendingQuery(CacheKey key, ActionListener<float[]> listener) {}

    private final ModelRegistry registry;
    private final ExecutorService executor;
    private final Cache<CacheKey, float[]> queryCache;
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMisses = new LongAdder();
    private final LongAdder rejections = new LongAdder();
    private final LatencyHistogram queueWait = new LatencyHistogram();
    private final LatencyHistogram inferenceTime = new LatencyHistogram();
    /** Queries waiting for their model's scheduled encode task; guarded by itself. */
    private final java.util.Map<String, List<PendingQuery>> pendingQueries = new java.util.HashMap<>();

    private final java.util.concurrent.Executor responder;

    public InferenceService(ModelRegistry registry, ExecutorService executor, int queryCacheSize) {
        this(registry, executor, Runnable::run, queryCacheSize);
    }

    /**
     * @param responder where a batch's query listeners are called: each continues its own search request, which must
     *                  not hold the inference thread (the next batch waits on it)
     */
    public InferenceService(ModelRegistry registry, ExecutorService executor, java.util.concurrent.Executor responder, int queryCacheSize) {
        this.registry = registry;
        this.executor = executor;
        this.responder = responder;
        this.queryCache = queryCacheSize > 0 ? CacheBuilder.<CacheKey, float[]>builder().setMaximumWeight(queryCacheSize).build() : null;
    }

    public ModelRegistry registry() {
        return registry;
    }

    /**
     * One encode on the plugin's pool, the only place inference runs: it records the queue wait and the inference
     * time, counts rejections, and turns a model load past the memory limit into a 429. Subclasses say which texts
     * to encode (chosen when the task starts) and what to do with the vectors; {@link #encode} is the encoder call,
     * plain vectors unless a subclass asks for more (passages).
     */
    private abstract class EncodeTask<R> extends AbstractRunnable {
        private final long queued = System.nanoTime();
        private final String model;
        final Role role;

        EncodeTask(String model, Role role) {
            this.model = model;
            this.role = role;
        }

        abstract List<String> texts();

        abstract R encode(Encoder encoder, List<String> texts);

        abstract void onVectors(R vectors);

        @Override
        protected final void doRun() {
            List<String> texts = texts();
            long start = System.nanoTime();
            queueWait.record(start - queued);
            R vectors;
            try {
                vectors = encode(registry.encoder(model), texts);
            } catch (ModelMemoryLimitException e) {
                onFailure(new OpenSearchStatusException(e.getMessage(), RestStatus.TOO_MANY_REQUESTS, e));
                return;
            } catch (Exception e) {
                onFailure(e);
                return;
            } finally {
                inferenceTime.record(System.nanoTime() - start);
            }
            onVectors(vectors);
        }

        @Override
        public final void onRejection(Exception e) {
            rejections.increment();
            onFailure(e);
        }
    }

    /** A task that encodes each text as one vector. */
    private abstract class VectorsTask extends EncodeTask<float[][]> {
        VectorsTask(String model, Role role) {
            super(model, role);
        }

        @Override
        final float[][] encode(Encoder encoder, List<String> texts) {
            return encoder.encode(texts, role);
        }
    }

    /**
     * Encodes each text as passages cut by {@code chunking} (null: the model's defaults), all passages of all texts
     * in one encoder call; cutting and tokenizing run there too, on the model's own thread, not the caller's.
     */
    public void embedPassages(String model, Role role, List<String> texts, Chunking chunking, ActionListener<List<List<Passage>>> listener) {
        executor.execute(new EncodeTask<List<List<Passage>>>(model, role) {
            @Override
            List<String> texts() {
                return texts;
            }

            @Override
            List<List<Passage>> encode(Encoder encoder, List<String> texts) {
                return encoder.encodePassages(texts, role, chunking == null ? Chunking.defaults(encoder.card()) : chunking);
            }

            @Override
            void onVectors(List<List<Passage>> passages) {
                listener.onResponse(passages);
            }

            @Override
            public void onFailure(Exception e) {
                listener.onFailure(e);
            }
        });
    }

    /** Encodes {@code texts} for {@code role} with {@code model}, answering on the plugin's thread pool. */
    public void embed(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        executor.execute(new VectorsTask(model, role) {
            @Override
            List<String> texts() {
                return texts;
            }

            @Override
            void onVectors(float[][] vectors) {
                listener.onResponse(vectors);
            }

            @Override
            public void onFailure(Exception e) {
                listener.onFailure(e);
            }
        });
    }

    /** Encodes one query text, answering from the cache (on the calling thread) when it holds the text. */
    public void embedQuery(String model, String text, ActionListener<float[]> listener) {
        CacheKey key = new CacheKey(model, text);
        float[] cached = queryCache == null ? null : queryCache.get(key);
        if (cached != null) {
            cacheHits.increment();
            listener.onResponse(cached);
            return;
        }
        cacheMisses.increment();
        boolean schedule;
        synchronized (pendingQueries) {
            List<PendingQuery> waiting = pendingQueries.computeIfAbsent(model, m -> new java.util.ArrayList<>());
            schedule = waiting.isEmpty();
            waiting.add(new PendingQuery(key, listener));
        }
        if (schedule) {
            encodePendingQueries(model);
        }
    }

    /** Schedules one encode task that takes every query waiting for {@code model} when it starts. */
    private void encodePendingQueries(String model) {
        executor.execute(new VectorsTask(model, Role.QUERY) {
            /** This task's own queries; once taken, later arrivals belong to the next task. */
            private List<PendingQuery> batch;

            private List<PendingQuery> batch() {
                if (batch == null) {
                    synchronized (pendingQueries) {
                        batch = pendingQueries.remove(model);
                    }
                    batch = batch == null ? List.of() : batch;
                }
                return batch;
            }

            @Override
            List<String> texts() {
                return batch().stream().map(q -> q.key().text()).toList();
            }

            @Override
            void onVectors(float[][] vectors) {
                for (int i = 0; i < vectors.length; i++) {
                    if (queryCache != null) {
                        queryCache.put(batch.get(i).key(), vectors[i]);
                    }
                    ActionListener<float[]> listener = batch.get(i).listener();
                    float[] vector = vectors[i];
                    try {
                        responder.execute(() -> {
                            try {
                                listener.onResponse(vector);
                            } catch (RuntimeException e) {
                                listener.onFailure(e);
                            }
                        });
                    } catch (RuntimeException e) {
                        // the responder refused (a full search queue): this query fails alone
                        listener.onFailure(e);
                    }
                }
            }

            @Override
            public void onFailure(Exception e) {
                batch().forEach(q -> q.listener().onFailure(e));
            }
        });
    }

    /** This node's service-level counters (the encoder keeps its own per model). */
    public record Stats(long cacheHits, long cacheMisses, long cacheEntries, long rejections, double[] queueWaitMillis, double[] inferenceMillis) {
        public static final double[] PERCENTILES = { 50, 90, 99 };
    }

    public Stats stats() {
        double[] wait = new double[Stats.PERCENTILES.length];
        double[] inference = new double[Stats.PERCENTILES.length];
        for (int i = 0; i < wait.length; i++) {
            wait[i] = queueWait.percentileMillis(Stats.PERCENTILES[i]);
            inference[i] = inferenceTime.percentileMillis(Stats.PERCENTILES[i]);
        }
        return new Stats(
            cacheHits.sum(),
            cacheMisses.sum(),
            queryCache == null ? 0 : queryCache.count(),
            rejections.sum(),
            wait,
            inference
        );
    }
}

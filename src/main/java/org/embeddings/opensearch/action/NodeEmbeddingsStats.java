package org.embeddings.opensearch.action;

import org.embeddings.encoder.EncoderStats;
import org.embeddings.encoder.ModelRegistry;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.threadpool.ThreadPoolStats;

import java.util.LinkedHashMap;
import java.util.Map;

/** Builds one node's embeddings statistics as the map {@link EmbeddingsStatsAction} carries. */
final class NodeEmbeddingsStats {
    private NodeEmbeddingsStats() {}

    static Map<String, Object> of(InferenceService inference, ThreadPool threadPool) {
        ModelRegistry registry = inference.registry();
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> models = new LinkedHashMap<>();
        for (String name : registry.loadedNames()) {
            registry.loadedEncoder(name).ifPresent(encoder -> {
                EncoderStats.Snapshot s = encoder.stats().snapshot();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("requests", s.requests());
                m.put("texts", s.texts());
                m.put("tokens", s.tokens());
                m.put("padded_tokens", s.paddedTokens());
                m.put("batches", s.batches());
                m.put("inference_millis", s.inferenceNanos() / 1_000_000);
                m.put("model_bytes", registry.loadedBytes(name));
                models.put(name, m);
            });
        }
        out.put("models", models);
        out.put("loaded_model_bytes", registry.loadedBytes());
        out.put("max_loaded_model_bytes", registry.maxLoadedBytes());

        InferenceService.Stats s = inference.stats();
        out.put("query_cache", Map.of("hits", s.cacheHits(), "misses", s.cacheMisses(), "entries", s.cacheEntries()));
        Map<String, Object> latency = new LinkedHashMap<>();
        latency.put("document_wait_millis", percentiles(s.documentWaitMillis()));
        latency.put("document_inference_millis", percentiles(s.documentInferenceMillis()));
        latency.put("query_wait_millis", percentiles(s.queryWaitMillis()));
        latency.put("query_inference_millis", percentiles(s.queryInferenceMillis()));
        out.put("latency", latency);
        out.put("query_timeouts", s.queryTimeouts());

        Map<String, Object> pool = new LinkedHashMap<>();
        for (ThreadPoolStats.Stats p : threadPool.stats()) {
            if (p.getName().equals(InferenceService.DOCUMENT_POOL)) {
                pool.put("threads", p.getThreads());
                pool.put("queue", p.getQueue());
                pool.put("active", p.getActive());
                pool.put("completed", p.getCompleted());
                pool.put("rejected", p.getRejected());
            }
        }
        pool.put("rejected_inference_requests", s.rejections());
        out.put("thread_pool", pool);
        return out;
    }

    private static Map<String, Object> percentiles(double[] values) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            m.put("p" + (int) InferenceService.Stats.PERCENTILES[i], values[i]);
        }
        return m;
    }
}

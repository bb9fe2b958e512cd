package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.EncoderStats;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.ingest.ReuseStats;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.threadpool.ThreadPoolStats;

/**
 * One node's embeddings statistics: per loaded model the encoder's counters and the bytes it maps, the query-vector
 * cache (in entries and bytes), latency percentiles of each lane (time waiting for the pool, time encoding), query
 * and document deadlines missed, the plugin's thread pools (documents, loads), and per model what the
 * {@code embed} processors did with each vector ({@link IngestReuse}).
 */
public record NodeEmbeddingsStats(
        Map<String, Model> models,
        long loadedModelBytes,
        long maxLoadedModelBytes,
        Cache queryCache,
        Map<String, Percentiles> latency,
        long queryTimeouts,
        long documentTimeouts,
        long rejectedInferenceRequests,
        Map<String, Pool> threadPools,
        Map<String, IngestReuse> ingest)
        implements Writeable, ToXContentFragment {

    /** Counters of one loaded model. */
    public record Model(
            long requests,
            long texts,
            long tokens,
            long paddedTokens,
            long batches,
            long inferenceMillis,
            long modelBytes,
            boolean loneQuerySession,
            int nativeWorkers,
            EncoderStats.Stages queryStages)
            implements Writeable, ToXContent {
        Model(StreamInput in) throws IOException {
            this(
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readBoolean(),
                    in.readVInt(),
                    new EncoderStats.Stages(
                            in.readVLong(),
                            in.readVLong(),
                            in.readVLong(),
                            in.readVLong(),
                            in.readVLong(),
                            in.readVLong()));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            for (long v : new long[] {requests, texts, tokens, paddedTokens, batches, inferenceMillis, modelBytes}) {
                out.writeVLong(v);
            }
            out.writeBoolean(loneQuerySession);
            out.writeVInt(nativeWorkers);
            EncoderStats.Stages q = queryStages;
            for (long v :
                    new long[] {q.encodes(), q.waitNanos(), q.tokenizeNanos(), q.runNanos(), q.poolNanos(), q.loneRuns()
                    }) {
                out.writeVLong(v);
            }
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
            return b.startObject()
                    .field("requests", requests)
                    .field("texts", texts)
                    .field("tokens", tokens)
                    .field("padded_tokens", paddedTokens)
                    .field("batches", batches)
                    .field("inference_millis", inferenceMillis)
                    .field("model_bytes", modelBytes)
                    .field("lone_query_session", loneQuerySession)
                    .field("native_workers", nativeWorkers)
                    .startObject("query_stages")
                    .field("encodes", queryStages.encodes())
                    .field("wait_nanos", queryStages.waitNanos())
                    .field("tokenize_nanos", queryStages.tokenizeNanos())
                    .field("run_nanos", queryStages.runNanos())
                    .field("pool_nanos", queryStages.poolNanos())
                    .field("lone_runs", queryStages.loneRuns())
                    .endObject()
                    .endObject();
        }
    }

    /** The query-vector cache: lookups, and what it holds against its bound, in bytes. */
    public record Cache(long hits, long misses, long entries, long bytes, long maxBytes)
            implements Writeable, ToXContent {
        Cache(StreamInput in) throws IOException {
            this(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeVLong(hits);
            out.writeVLong(misses);
            out.writeVLong(entries);
            out.writeVLong(bytes);
            out.writeVLong(maxBytes);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
            return b.startObject()
                    .field("hits", hits)
                    .field("misses", misses)
                    .field("entries", entries)
                    .field("bytes", bytes)
                    .field("max_bytes", maxBytes)
                    .endObject();
        }
    }

    /** p50, p90 and p99 in milliseconds. */
    public record Percentiles(double[] millis) implements Writeable, ToXContent {
        Percentiles(StreamInput in) throws IOException {
            this(in.readDoubleArray());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeDoubleArray(millis);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
            b.startObject();
            for (int i = 0; i < millis.length; i++) {
                b.field("p" + (int) InferenceService.Stats.PERCENTILES[i], millis[i]);
            }
            return b.endObject();
        }
    }

    public record Pool(int threads, int queue, int active, long completed, long rejected)
            implements Writeable, ToXContent {
        Pool(StreamInput in) throws IOException {
            this(in.readVInt(), in.readVInt(), in.readVInt(), in.readVLong(), in.readVLong());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeVInt(threads);
            out.writeVInt(queue);
            out.writeVInt(active);
            out.writeVLong(completed);
            out.writeVLong(rejected);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
            return b.startObject()
                    .field("threads", threads)
                    .field("queue", queue)
                    .field("active", active)
                    .field("completed", completed)
                    .field("rejected", rejected)
                    .endObject();
        }
    }

    public NodeEmbeddingsStats(StreamInput in) throws IOException {
        this(
                in.readMap(StreamInput::readString, Model::new),
                in.readVLong(),
                in.readVLong(),
                new Cache(in),
                in.readMap(StreamInput::readString, Percentiles::new),
                in.readVLong(),
                in.readVLong(),
                in.readVLong(),
                in.readMap(StreamInput::readString, Pool::new),
                in.readMap(StreamInput::readString, IngestReuse::new));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeMap(models, StreamOutput::writeString, (o, m) -> m.writeTo(o));
        out.writeVLong(loadedModelBytes);
        out.writeVLong(maxLoadedModelBytes);
        queryCache.writeTo(out);
        out.writeMap(latency, StreamOutput::writeString, (o, p) -> p.writeTo(o));
        out.writeVLong(queryTimeouts);
        out.writeVLong(documentTimeouts);
        out.writeVLong(rejectedInferenceRequests);
        out.writeMap(threadPools, StreamOutput::writeString, (o, p) -> p.writeTo(o));
        out.writeMap(ingest, StreamOutput::writeString, (o, r) -> r.writeTo(o));
    }

    /** Reads this node's statistics; cheap, no inference. */
    static NodeEmbeddingsStats of(InferenceService inference, ReuseStats reuse, ThreadPool threadPool) {
        ModelRegistry registry = inference.registry();
        Map<String, Model> models = new LinkedHashMap<>();
        for (String name : registry.loadedNames()) {
            registry.loadedEncoder(name).ifPresent(encoder -> {
                EncoderStats.Snapshot s = encoder.stats().snapshot();
                models.put(
                        name,
                        new Model(
                                s.requests(),
                                s.texts(),
                                s.tokens(),
                                s.paddedTokens(),
                                s.batches(),
                                s.inferenceNanos() / 1_000_000,
                                registry.loadedBytes(name),
                                encoder.hasLoneSession(),
                                encoder.workers(),
                                s.interactive()));
            });
        }
        InferenceService.Stats s = inference.stats();
        Map<String, Percentiles> latency = new LinkedHashMap<>();
        latency.put("document_wait_millis", new Percentiles(s.documentWaitMillis()));
        latency.put("document_inference_millis", new Percentiles(s.documentInferenceMillis()));
        latency.put("query_wait_millis", new Percentiles(s.queryWaitMillis()));
        latency.put("query_inference_millis", new Percentiles(s.queryInferenceMillis()));
        Map<String, Pool> pools = new LinkedHashMap<>();
        for (ThreadPoolStats.Stats p : threadPool.stats()) {
            if (List.of(InferenceService.DOCUMENT_POOL, InferenceService.LOAD_POOL)
                    .contains(p.getName())) {
                pools.put(
                        p.getName(),
                        new Pool(p.getThreads(), p.getQueue(), p.getActive(), p.getCompleted(), p.getRejected()));
            }
        }
        return new NodeEmbeddingsStats(
                models,
                registry.loadedBytes(),
                registry.maxLoadedBytes(),
                new Cache(s.cacheHits(), s.cacheMisses(), s.cacheEntries(), s.cacheBytes(), s.cacheMaxBytes()),
                latency,
                s.queryTimeouts(),
                s.documentTimeouts(),
                s.rejections(),
                pools,
                ingest(reuse));
    }

    private static Map<String, IngestReuse> ingest(ReuseStats reuse) {
        Map<String, IngestReuse> out = new LinkedHashMap<>();
        reuse.snapshot().forEach((model, s) -> out.put(model, IngestReuse.of(s)));
        return out;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
        b.startObject("models");
        for (Map.Entry<String, Model> e : models.entrySet()) {
            b.field(e.getKey());
            e.getValue().toXContent(b, params);
        }
        b.endObject();
        b.field("loaded_model_bytes", loadedModelBytes);
        b.field("max_loaded_model_bytes", maxLoadedModelBytes);
        b.field("query_cache");
        queryCache.toXContent(b, params);
        b.startObject("latency");
        for (Map.Entry<String, Percentiles> e : latency.entrySet()) {
            b.field(e.getKey());
            e.getValue().toXContent(b, params);
        }
        b.endObject();
        b.field("query_timeouts", queryTimeouts);
        b.field("document_timeouts", documentTimeouts);
        b.field("rejected_inference_requests", rejectedInferenceRequests);
        b.startObject("thread_pools");
        for (Map.Entry<String, Pool> e : threadPools.entrySet()) {
            b.field(e.getKey());
            e.getValue().toXContent(b, params);
        }
        b.endObject();
        b.startObject("ingest");
        for (Map.Entry<String, IngestReuse> e : ingest.entrySet()) {
            b.field(e.getKey());
            e.getValue().toXContent(b, params);
        }
        return b.endObject();
    }
}

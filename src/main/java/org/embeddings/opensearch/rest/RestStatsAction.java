package org.embeddings.opensearch.rest;

import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderStats;
import org.embeddings.opensearch.InferenceService;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;
import java.util.function.Supplier;

/**
 * {@code GET /_plugins/_embeddings/stats}: this node's counters per loaded model (requests, texts, tokens, padded
 * tokens, ONNX batches, inference time).
 */
public final class RestStatsAction extends BaseRestHandler {
    private final Supplier<InferenceService> inference;

    public RestStatsAction(Supplier<InferenceService> inference) {
        this.inference = inference;
    }

    @Override
    public String getName() {
        return "embeddings_stats";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embeddings/stats"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        return channel -> {
            XContentBuilder builder = channel.newBuilder();
            builder.startObject();
            builder.startObject("models");
            var registry = inference.get().registry();
            for (String name : registry.loadedNames()) {
                Encoder encoder = registry.loadedEncoder(name).orElseThrow();
                EncoderStats.Snapshot s = encoder.stats().snapshot();
                builder.startObject(name);
                builder.field("requests", s.requests());
                builder.field("texts", s.texts());
                builder.field("tokens", s.tokens());
                builder.field("padded_tokens", s.paddedTokens());
                builder.field("batches", s.batches());
                builder.field("inference_millis", s.inferenceNanos() / 1_000_000);
                builder.endObject();
            }
            builder.endObject();
            builder.endObject();
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
        };
    }
}

package org.embeddings.opensearch.rest;

import org.embeddings.encoder.CardCatalog;
import org.embeddings.encoder.ModelCard;
import org.embeddings.encoder.ModelRegistry;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * {@code GET /_plugins/_embeddings/models}: every model this node knows, bundled card or installed folder, with
 * whether it is installed and loaded here, and the recipe it is run with (dims, pooling, normalization, prompts per
 * role, token limit). Reads cards only; never loads a model.
 */
public final class RestModelsAction extends BaseRestHandler {
    private final Supplier<InferenceService> inference;

    public RestModelsAction(Supplier<InferenceService> inference) {
        this.inference = inference;
    }

    @Override
    public String getName() {
        return "embeddings_models";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embeddings/models"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        return channel -> {
            ModelRegistry registry = inference.get().registry();
            List<String> installed = registry.installed();
            List<String> loaded = registry.loadedNames();
            TreeSet<String> names = new TreeSet<>(CardCatalog.names());
            names.addAll(installed);
            XContentBuilder builder = channel.newBuilder();
            builder.startObject();
            builder.field("node", client.getLocalNodeId());
            builder.startObject("models");
            for (String name : names) {
                builder.startObject(name);
                builder.field("installed", installed.contains(name));
                builder.field("loaded", loaded.contains(name));
                try {
                    ModelCard card = registry.card(name);
                    if (card.huggingFaceId() != null) {
                        builder.field("hugging_face_id", card.huggingFaceId());
                    }
                    builder.field("dims", card.dims());
                    builder.field("pooling", card.pooling().label());
                    builder.field("normalize", card.normalize());
                    builder.field("max_tokens", card.maxTokens());
                    builder.startObject("prompts");
                    builder.field("query", card.prompt().query());
                    builder.field("passage", card.prompt().passage());
                    builder.field("none", card.prompt().none());
                    builder.endObject();
                } catch (RuntimeException e) {
                    builder.field("error", e.getMessage());
                }
                builder.endObject();
            }
            builder.endObject();
            builder.endObject();
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
        };
    }
}

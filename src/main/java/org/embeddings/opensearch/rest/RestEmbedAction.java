package org.embeddings.opensearch.rest;

import java.io.IOException;
import java.util.List;
import org.embeddings.opensearch.action.EmbedAction;
import org.embeddings.opensearch.action.EmbedRequest;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code POST /_plugins/_embeddings/embed} with {@code {"model", "role", "texts": [...]}} dispatches
 * {@link EmbedAction} ({@value EmbedAction#NAME}) on this node and answers {@code {"model", "dims", "embeddings"}}.
 */
public final class RestEmbedAction extends BaseRestHandler {
    @Override
    public String getName() {
        return "embeddings_embed";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.POST, "/_plugins/_embeddings/embed"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        if (request.hasContent() == false) {
            throw new IllegalArgumentException("request body is required: {\"model\", \"role\", \"texts\"}");
        }
        EmbedRequest embed;
        try (var parser = request.contentParser()) {
            embed = EmbedRequest.parse(parser);
        }
        return channel -> client.execute(EmbedAction.INSTANCE, embed, new RestToXContentListener<>(channel));
    }
}

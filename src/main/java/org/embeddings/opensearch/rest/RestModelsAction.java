package org.embeddings.opensearch.rest;

import java.util.List;
import org.embeddings.opensearch.action.ModelsAction;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code GET /_plugins/_embeddings/models} dispatches {@link ModelsAction} ({@value ModelsAction#NAME}): every model
 * the answering node knows, bundled card or installed folder, with its state there and its recipe.
 */
public final class RestModelsAction extends BaseRestHandler {
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
        return channel -> client.execute(
                ModelsAction.INSTANCE, new ModelsAction.Request(), new RestToXContentListener<>(channel));
    }
}

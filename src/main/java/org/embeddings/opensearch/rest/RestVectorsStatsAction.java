package org.embeddings.opensearch.rest;

import java.util.List;
import org.embeddings.opensearch.action.VectorsStatsAction;
import org.opensearch.core.common.Strings;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestActions;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code GET /_plugins/_embeddings/vectors} and {@code GET /_plugins/_embeddings/vectors/{index}} (names or wildcard
 * patterns, comma-separated): the vector bytes of every {@code embedding} field, per index and field, from every
 * node ({@link VectorsStatsAction}).
 */
public final class RestVectorsStatsAction extends BaseRestHandler {
    @Override
    public String getName() {
        return "embeddings_vectors_stats";
    }

    @Override
    public List<Route> routes() {
        return List.of(
                new Route(RestRequest.Method.GET, "/_plugins/_embeddings/vectors"),
                new Route(RestRequest.Method.GET, "/_plugins/_embeddings/vectors/{index}"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        String[] indices = Strings.splitStringByCommaToArray(request.param("index"));
        VectorsStatsAction.Request stats = new VectorsStatsAction.Request(indices);
        return channel -> client.execute(
                VectorsStatsAction.INSTANCE, stats, new RestActions.NodesResponseRestListener<>(channel));
    }
}

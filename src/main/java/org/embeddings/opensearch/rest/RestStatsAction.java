package org.embeddings.opensearch.rest;

import java.util.List;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.opensearch.core.common.Strings;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestActions;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code GET /_plugins/_embeddings/stats} and {@code GET /_plugins/_embeddings/{node_id}/stats}: every (or the
 * selected) node's embeddings statistics, in the shape of {@code _nodes/stats} ({@code _nodes} header, then one
 * object per node id).
 */
public final class RestStatsAction extends BaseRestHandler {
    @Override
    public String getName() {
        return "embeddings_stats";
    }

    @Override
    public List<Route> routes() {
        return List.of(
                new Route(RestRequest.Method.GET, "/_plugins/_embeddings/stats"),
                new Route(RestRequest.Method.GET, "/_plugins/_embeddings/{node_id}/stats"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        String[] nodes = Strings.splitStringByCommaToArray(request.param("node_id", "_all"));
        EmbeddingsStatsAction.Request statsRequest = new EmbeddingsStatsAction.Request(nodes);
        return channel -> client.execute(
                EmbeddingsStatsAction.INSTANCE, statsRequest, new RestActions.NodesResponseRestListener<>(channel));
    }
}

package org.embeddings.opensearch.rest;

import java.util.List;
import org.embeddings.opensearch.action.VectorsStatsAction;
import org.opensearch.action.support.IndicesOptions;
import org.opensearch.core.common.Strings;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code GET /_plugins/_embeddings/vectors} and {@code GET /_plugins/_embeddings/vectors/{index}} (names, aliases,
 * data streams or wildcard patterns, comma-separated; {@code ignore_unavailable}, {@code allow_no_indices} and
 * {@code expand_wildcards} as for {@code _stats}): the vector bytes of every {@code embedding} field, per index and
 * field, over every shard copy ({@link VectorsStatsAction}).
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
        stats.indicesOptions(IndicesOptions.fromRequest(request, stats.indicesOptions()));
        return channel -> client.execute(VectorsStatsAction.INSTANCE, stats, new RestToXContentListener<>(channel));
    }
}

package org.embeddings.opensearch.rest;

import java.util.List;
import org.embeddings.opensearch.action.LoadModelAction;
import org.embeddings.opensearch.action.ModelLifecycle;
import org.embeddings.opensearch.action.UnloadModelAction;
import org.opensearch.core.common.Strings;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.RestResponse;
import org.opensearch.rest.action.RestActions;
import org.opensearch.rest.action.RestBuilderListener;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code POST /_plugins/_embeddings/models/{model}/_load} and {@code .../_unload} dispatch {@link LoadModelAction}
 * ({@value LoadModelAction#NAME}) and {@link UnloadModelAction} ({@value UnloadModelAction#NAME}) to every node, or
 * to those {@code ?nodes=} names; a load waits up to {@code ?timeout=} (default 2m) on each node. The answer has the
 * shape of {@code _nodes/stats} and its status is the worst node's: 200 when every node succeeded.
 */
public final class RestModelLifecycleAction extends BaseRestHandler {
    @Override
    public String getName() {
        return "embeddings_model_lifecycle";
    }

    @Override
    public List<Route> routes() {
        return List.of(
                new Route(RestRequest.Method.POST, "/_plugins/_embeddings/models/{model}/_load"),
                new Route(RestRequest.Method.POST, "/_plugins/_embeddings/models/{model}/_unload"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        boolean load = request.path().endsWith("/_load");
        String[] nodes = Strings.splitStringByCommaToArray(request.param("nodes", "_all"));
        ModelLifecycle.Request action = new ModelLifecycle.Request(
                request.param("model"), request.paramAsTime("timeout", ModelLifecycle.DEFAULT_WAIT), nodes);
        return channel -> client.execute(
                load ? LoadModelAction.INSTANCE : UnloadModelAction.INSTANCE,
                action,
                new RestBuilderListener<>(channel) {
                    @Override
                    public RestResponse buildResponse(ModelLifecycle.Response response, XContentBuilder builder)
                            throws Exception {
                        builder.startObject();
                        RestActions.buildNodesHeader(builder, channel.request(), response);
                        builder.field("cluster_name", response.getClusterName().value());
                        response.toXContent(builder, channel.request());
                        builder.endObject();
                        return new BytesRestResponse(response.status(), builder);
                    }
                });
    }
}

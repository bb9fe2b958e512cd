package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import org.opensearch.action.ActionType;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.nodes.BaseNodeResponse;
import org.opensearch.action.support.nodes.BaseNodesRequest;
import org.opensearch.action.support.nodes.BaseNodesResponse;
import org.opensearch.cluster.ClusterName;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.transport.TransportRequest;

/**
 * Collects each node's embeddings statistics (per-model encoder counters, query cache, inference latency
 * percentiles, the plugin thread pool's queue and rejections), the way {@code _nodes/stats} does for core
 * statistics. A node's statistics travel as a typed {@link NodeEmbeddingsStats}.
 */
public final class EmbeddingsStatsAction extends ActionType<EmbeddingsStatsAction.Response> {
    public static final String NAME = "cluster:monitor/embeddings/stats";
    public static final EmbeddingsStatsAction INSTANCE = new EmbeddingsStatsAction();

    private EmbeddingsStatsAction() {
        super(NAME, Response::new);
    }

    public static final class Request extends BaseNodesRequest<Request> {
        public Request(String... nodeIds) {
            super(nodeIds);
        }

        public Request(StreamInput in) throws IOException {
            super(in);
        }
    }

    public static final class NodeRequest extends TransportRequest {
        public NodeRequest() {}

        public NodeRequest(StreamInput in) throws IOException {
            super(in);
        }
    }

    public static final class NodeResponse extends BaseNodeResponse {
        private final NodeEmbeddingsStats stats;

        public NodeResponse(DiscoveryNode node, NodeEmbeddingsStats stats) {
            super(node);
            this.stats = stats;
        }

        public NodeResponse(StreamInput in) throws IOException {
            super(in);
            this.stats = new NodeEmbeddingsStats(in);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            stats.writeTo(out);
        }

        public NodeEmbeddingsStats stats() {
            return stats;
        }
    }

    public static final class Response extends BaseNodesResponse<NodeResponse> implements ToXContentFragment {
        public Response(StreamInput in) throws IOException {
            super(in);
        }

        public Response(ClusterName clusterName, List<NodeResponse> nodes, List<FailedNodeException> failures) {
            super(clusterName, nodes, failures);
        }

        @Override
        protected List<NodeResponse> readNodesFrom(StreamInput in) throws IOException {
            return in.readList(NodeResponse::new);
        }

        @Override
        protected void writeNodesTo(StreamOutput out, List<NodeResponse> nodes) throws IOException {
            out.writeList(nodes);
        }

        /** The body after the {@code _nodes} header and {@code cluster_name}, which the REST layer writes. */
        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject("nodes");
            for (NodeResponse node : getNodes()) {
                builder.startObject(node.getNode().getId());
                builder.field("name", node.getNode().getName());
                builder.field("host", node.getNode().getHostAddress());
                node.stats().toXContent(builder, params);
                builder.endObject();
            }
            builder.endObject();
            return builder;
        }
    }
}

package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.opensearch.action.ActionType;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.nodes.BaseNodeResponse;
import org.opensearch.action.support.nodes.BaseNodesRequest;
import org.opensearch.action.support.nodes.BaseNodesResponse;
import org.opensearch.cluster.ClusterName;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.transport.TransportRequest;

/**
 * What the vectors of {@code embedding} fields cost, per index and field, summed over the segments of every shard
 * copy the nodes hold: how many vectors, the bytes of the float32 vectors ({@code raw_bytes}), of the quantized copy
 * ({@code quantized_bytes}) and of the HNSW graph ({@code graph_bytes}), as Lucene's vector readers report them
 * ({@code KnnVectorsReader#getOffHeapByteSize}: the data a search maps into memory, which is also their size on
 * disk), and {@code search_path_bytes}: what a search walks and should find in the page cache, the graph plus
 * the quantized copy where there is one, else the float32 vectors. Float rescoring reads only the float32 vectors
 * of its {@code k x oversample} candidates.
 */
public final class VectorsStatsAction extends ActionType<VectorsStatsAction.Response> {
    public static final String NAME = "cluster:monitor/embeddings/vectors";
    public static final VectorsStatsAction INSTANCE = new VectorsStatsAction();

    private VectorsStatsAction() {
        super(NAME, Response::new);
    }

    /** The indices to report (names or wildcard patterns; all when empty) on the selected nodes. */
    public static final class Request extends BaseNodesRequest<Request> {
        private final String[] indices;

        public Request(String[] indices, String... nodeIds) {
            super(nodeIds);
            this.indices = indices;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.indices = in.readStringArray();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringArray(indices);
        }

        public String[] indices() {
            return indices;
        }
    }

    public static final class NodeRequest extends TransportRequest {
        private final String[] indices;

        public NodeRequest(String[] indices) {
            this.indices = indices;
        }

        public NodeRequest(StreamInput in) throws IOException {
            super(in);
            this.indices = in.readStringArray();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringArray(indices);
        }

        public String[] indices() {
            return indices;
        }
    }

    /** One field of one shard copy on one node. */
    public record ShardField(
            String index,
            int shard,
            boolean primary,
            String field,
            Map<String, Object> indexOptions,
            int dims,
            int segments,
            long vectors,
            long rawBytes,
            long quantizedBytes,
            long graphBytes)
            implements Writeable {
        ShardField(StreamInput in) throws IOException {
            this(
                    in.readString(),
                    in.readVInt(),
                    in.readBoolean(),
                    in.readString(),
                    in.readMap(),
                    in.readVInt(),
                    in.readVInt(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong(),
                    in.readVLong());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(index);
            out.writeVInt(shard);
            out.writeBoolean(primary);
            out.writeString(field);
            out.writeMap(indexOptions);
            out.writeVInt(dims);
            out.writeVInt(segments);
            out.writeVLong(vectors);
            out.writeVLong(rawBytes);
            out.writeVLong(quantizedBytes);
            out.writeVLong(graphBytes);
        }

        /** The graph and the vectors the graph is walked on. */
        public long searchPathBytes() {
            return graphBytes + (quantizedBytes > 0 ? quantizedBytes : rawBytes);
        }
    }

    public static final class NodeResponse extends BaseNodeResponse {
        private final List<ShardField> fields;

        public NodeResponse(DiscoveryNode node, List<ShardField> fields) {
            super(node);
            this.fields = fields;
        }

        public NodeResponse(StreamInput in) throws IOException {
            super(in);
            this.fields = in.readList(ShardField::new);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeList(fields);
        }

        public List<ShardField> fields() {
            return fields;
        }
    }

    /** Sums over shard copies: {@code primaries} (the index's own cost) and {@code total} (with replicas). */
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

        private static final class Sums {
            long copies;
            long segments;
            long vectors;
            long raw;
            long quantized;
            long graph;
            long searchPath;

            void add(ShardField f) {
                copies++;
                segments += f.segments();
                vectors += f.vectors();
                raw += f.rawBytes();
                quantized += f.quantizedBytes();
                graph += f.graphBytes();
                searchPath += f.searchPathBytes();
            }

            void toXContent(XContentBuilder builder, String name) throws IOException {
                builder.startObject(name);
                builder.field("shard_copies", copies);
                builder.field("segments", segments);
                builder.field("vectors", vectors);
                builder.field("raw_bytes", raw);
                builder.field("quantized_bytes", quantized);
                builder.field("graph_bytes", graph);
                builder.field("search_path_bytes", searchPath);
                builder.endObject();
            }
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.field("cluster_name", getClusterName().value());
            Map<String, Map<String, ShardField>> described = new TreeMap<>();
            Map<String, Map<String, Sums[]>> sums = new TreeMap<>();
            for (NodeResponse node : getNodes()) {
                for (ShardField f : node.fields()) {
                    described.computeIfAbsent(f.index(), i -> new TreeMap<>()).putIfAbsent(f.field(), f);
                    Sums[] s = sums.computeIfAbsent(f.index(), i -> new TreeMap<>())
                            .computeIfAbsent(f.field(), x -> new Sums[] {new Sums(), new Sums()});
                    if (f.primary()) {
                        s[0].add(f);
                    }
                    s[1].add(f);
                }
            }
            builder.startObject("indices");
            for (Map.Entry<String, Map<String, Sums[]>> index : sums.entrySet()) {
                builder.startObject(index.getKey());
                builder.startObject("fields");
                for (Map.Entry<String, Sums[]> field : index.getValue().entrySet()) {
                    ShardField any = described.get(index.getKey()).get(field.getKey());
                    builder.startObject(field.getKey());
                    builder.field("dims", any.dims());
                    builder.field("index_options", any.indexOptions());
                    field.getValue()[0].toXContent(builder, "primaries");
                    field.getValue()[1].toXContent(builder, "total");
                    builder.endObject();
                }
                builder.endObject();
                builder.endObject();
            }
            builder.endObject();
            return builder;
        }
    }
}

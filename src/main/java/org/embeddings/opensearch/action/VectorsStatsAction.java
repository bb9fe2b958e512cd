package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.opensearch.action.ActionType;
import org.opensearch.action.support.broadcast.BroadcastRequest;
import org.opensearch.action.support.broadcast.BroadcastResponse;
import org.opensearch.core.action.support.DefaultShardOperationFailedException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * What the vectors of {@code embedding} fields cost, per index and field, summed over the segments of every shard
 * copy the nodes hold: how many vectors, the bytes of the float32 vectors ({@code raw_bytes}), of the quantized copy
 * ({@code quantized_bytes}) and of the HNSW graph ({@code graph_bytes}), as Lucene's vector readers report them
 * ({@code KnnVectorsReader#getOffHeapByteSize}: the data a search maps into memory, which is also their size on
 * disk), and {@code search_path_bytes}: what a search walks and should find in the page cache, the graph plus
 * the quantized copy where there is one, else the float32 vectors. Float rescoring reads only the float32 vectors
 * of its {@code k x oversample} candidates.
 *
 * <p>An index-level action ({@value #NAME}) over the shards of the indices the request names, resolved as any index
 * request is (wildcards, aliases, data streams; a missing index is a 404): a security plugin grants it per index and
 * narrows a wildcard to the indices the caller may see, so nobody learns the fields of an index they cannot read.
 */
public final class VectorsStatsAction extends ActionType<VectorsStatsAction.Response> {
    public static final String NAME = "indices:monitor/embeddings/vectors";
    public static final VectorsStatsAction INSTANCE = new VectorsStatsAction();

    private VectorsStatsAction() {
        super(NAME, Response::new);
    }

    /** The indices to report (names, aliases, data streams or wildcard patterns; all when empty). */
    public static final class Request extends BroadcastRequest<Request> {
        public Request(String... indices) {
            super(indices);
        }

        public Request(StreamInput in) throws IOException {
            super(in);
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

    /** The fields of one shard copy: what one shard operation returns. */
    public record ShardFields(List<ShardField> fields) implements Writeable {
        public ShardFields(StreamInput in) throws IOException {
            this(in.readList(ShardField::new));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeList(fields);
        }
    }

    /**
     * Sums over shard copies: {@code primaries} (the index's own cost) and {@code total} (with replicas), after the
     * {@code _shards} header of every broadcast response.
     */
    public static final class Response extends BroadcastResponse {
        private final List<ShardFields> shards;

        public Response(StreamInput in) throws IOException {
            super(in);
            this.shards = in.readList(ShardFields::new);
        }

        public Response(
                int totalShards,
                int successfulShards,
                int failedShards,
                List<DefaultShardOperationFailedException> failures,
                List<ShardFields> shards) {
            super(totalShards, successfulShards, failedShards, failures);
            this.shards = List.copyOf(shards);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeList(shards);
        }

        /** Every field of every shard copy that answered. */
        public List<ShardField> fields() {
            return shards.stream().flatMap(s -> s.fields().stream()).toList();
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
        protected void addCustomXContentFields(XContentBuilder builder, Params params) throws IOException {
            Map<String, Map<String, ShardField>> described = new TreeMap<>();
            Map<String, Map<String, Sums[]>> sums = new TreeMap<>();
            for (ShardField f : fields()) {
                described.computeIfAbsent(f.index(), i -> new TreeMap<>()).putIfAbsent(f.field(), f);
                Sums[] s = sums.computeIfAbsent(f.index(), i -> new TreeMap<>())
                        .computeIfAbsent(f.field(), x -> new Sums[] {new Sums(), new Sums()});
                if (f.primary()) {
                    s[0].add(f);
                }
                s[1].add(f);
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
        }
    }
}

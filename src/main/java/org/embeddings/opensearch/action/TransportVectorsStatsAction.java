package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentReader;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper.EmbeddingFieldType;
import org.embeddings.opensearch.mapper.IndexOptions;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.broadcast.node.TransportBroadcastByNodeAction;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.block.ClusterBlockException;
import org.opensearch.cluster.block.ClusterBlockLevel;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.routing.ShardRouting;
import org.opensearch.cluster.routing.ShardsIterator;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.common.lucene.Lucene;
import org.opensearch.core.action.support.DefaultShardOperationFailedException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.index.IndexService;
import org.opensearch.index.engine.Engine;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.shard.IndexShard;
import org.opensearch.indices.IndicesService;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/**
 * Broadcasts {@link VectorsStatsAction} to the nodes that hold shard copies of the requested indices (resolved on the
 * coordinating node, as for {@code _stats}: every copy, replicas included); each reads the vector readers of the
 * segments of its copies (a searcher acquired and released per shard, no I/O beyond the readers' metadata).
 */
public final class TransportVectorsStatsAction
        extends TransportBroadcastByNodeAction<
                VectorsStatsAction.Request, VectorsStatsAction.Response, VectorsStatsAction.ShardFields> {

    private static final String RAW = "vec";
    private static final String QUANTIZED = "veq";
    private static final String GRAPH = "vex";

    private final IndicesService indicesService;

    @Inject
    public TransportVectorsStatsAction(
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            IndexNameExpressionResolver resolver,
            IndicesService indicesService) {
        super(
                VectorsStatsAction.NAME,
                clusterService,
                transportService,
                actionFilters,
                resolver,
                VectorsStatsAction.Request::new,
                ThreadPool.Names.MANAGEMENT);
        this.indicesService = indicesService;
    }

    @Override
    protected VectorsStatsAction.ShardFields readShardResult(StreamInput in) throws IOException {
        return new VectorsStatsAction.ShardFields(in);
    }

    @Override
    protected VectorsStatsAction.Response newResponse(
            VectorsStatsAction.Request request,
            int totalShards,
            int successfulShards,
            int failedShards,
            List<VectorsStatsAction.ShardFields> results,
            List<DefaultShardOperationFailedException> failures,
            ClusterState state) {
        return new VectorsStatsAction.Response(totalShards, successfulShards, failedShards, failures, results);
    }

    @Override
    protected VectorsStatsAction.Request readRequestFrom(StreamInput in) throws IOException {
        return new VectorsStatsAction.Request(in);
    }

    @Override
    protected ShardsIterator shards(ClusterState state, VectorsStatsAction.Request request, String[] concreteIndices) {
        return state.routingTable().allShards(concreteIndices);
    }

    @Override
    protected ClusterBlockException checkGlobalBlock(ClusterState state, VectorsStatsAction.Request request) {
        return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_READ);
    }

    @Override
    protected ClusterBlockException checkRequestBlock(
            ClusterState state, VectorsStatsAction.Request request, String[] concreteIndices) {
        return state.blocks().indicesBlockedException(ClusterBlockLevel.METADATA_READ, concreteIndices);
    }

    @Override
    protected VectorsStatsAction.ShardFields shardOperation(VectorsStatsAction.Request request, ShardRouting routing)
            throws IOException {
        IndexService index = indicesService.indexServiceSafe(routing.shardId().getIndex());
        IndexShard shard = index.getShard(routing.shardId().id());
        List<VectorsStatsAction.ShardField> out = new ArrayList<>();
        for (MappedFieldType type : index.mapperService().fieldTypes()) {
            if (type instanceof EmbeddingFieldType embedding) {
                out.add(field(index, shard, embedding));
            }
        }
        return new VectorsStatsAction.ShardFields(out);
    }

    private static VectorsStatsAction.ShardField field(IndexService index, IndexShard shard, EmbeddingFieldType type)
            throws IOException {
        int segments = 0;
        long vectors = 0;
        long raw = 0;
        long quantized = 0;
        long graph = 0;
        try (Engine.Searcher searcher = shard.acquireSearcher("embeddings_vectors_stats")) {
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                SegmentReader reader = Lucene.segmentReader(leaf.reader());
                FieldInfo info = reader.getFieldInfos().fieldInfo(type.name());
                KnnVectorsReader vectorsReader = reader.getVectorReader();
                if (info == null || info.getVectorDimension() == 0 || vectorsReader == null) {
                    continue;
                }
                FloatVectorValues values = vectorsReader.getFloatVectorValues(type.name());
                segments++;
                vectors += values == null ? 0 : values.size();
                Map<String, Long> bytes = vectorsReader.getOffHeapByteSize(info);
                raw += bytes.getOrDefault(RAW, 0L);
                quantized += bytes.getOrDefault(QUANTIZED, 0L);
                graph += bytes.getOrDefault(GRAPH, 0L);
            }
        }
        return new VectorsStatsAction.ShardField(
                index.index().getName(),
                shard.shardId().id(),
                shard.routingEntry().primary(),
                type.name(),
                IndexOptions.toMap(type.indexOptions()),
                type.dims(),
                segments,
                vectors,
                raw,
                quantized,
                graph);
    }
}

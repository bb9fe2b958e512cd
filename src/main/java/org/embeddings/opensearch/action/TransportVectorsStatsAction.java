package org.embeddings.opensearch.action;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.common.lucene.Lucene;
import org.opensearch.common.regex.Regex;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.index.IndexService;
import org.opensearch.index.engine.Engine;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.shard.IndexShard;
import org.opensearch.index.shard.IndexShardState;
import org.opensearch.indices.IndicesService;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/**
 * Fans {@link VectorsStatsAction} out to the nodes; each reads the vector readers of the segments of its started
 * shard copies (a searcher acquired and released per shard, no I/O beyond the readers' metadata).
 */
public final class TransportVectorsStatsAction
        extends TransportNodesAction<
                VectorsStatsAction.Request,
                VectorsStatsAction.Response,
                VectorsStatsAction.NodeRequest,
                VectorsStatsAction.NodeResponse> {

    private static final String RAW = "vec";
    private static final String QUANTIZED = "veq";
    private static final String GRAPH = "vex";

    private final IndicesService indicesService;

    @Inject
    public TransportVectorsStatsAction(
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            IndicesService indicesService) {
        super(
                VectorsStatsAction.NAME,
                threadPool,
                clusterService,
                transportService,
                actionFilters,
                VectorsStatsAction.Request::new,
                VectorsStatsAction.NodeRequest::new,
                ThreadPool.Names.MANAGEMENT,
                VectorsStatsAction.NodeResponse.class);
        this.indicesService = indicesService;
    }

    @Override
    protected VectorsStatsAction.Response newResponse(
            VectorsStatsAction.Request request,
            List<VectorsStatsAction.NodeResponse> responses,
            List<FailedNodeException> failures) {
        return new VectorsStatsAction.Response(clusterService.getClusterName(), responses, failures);
    }

    @Override
    protected VectorsStatsAction.NodeRequest newNodeRequest(VectorsStatsAction.Request request) {
        return new VectorsStatsAction.NodeRequest(request.indices());
    }

    @Override
    protected VectorsStatsAction.NodeResponse newNodeResponse(StreamInput in) throws IOException {
        return new VectorsStatsAction.NodeResponse(in);
    }

    @Override
    protected VectorsStatsAction.NodeResponse nodeOperation(VectorsStatsAction.NodeRequest request) {
        List<VectorsStatsAction.ShardField> out = new ArrayList<>();
        for (IndexService index : indicesService) {
            String name = index.index().getName();
            if (request.indices().length > 0 && Regex.simpleMatch(request.indices(), name) == false) {
                continue;
            }
            for (IndexShard shard : index) {
                if (shard.state() == IndexShardState.STARTED) {
                    out.addAll(shardFields(index, shard));
                }
            }
        }
        return new VectorsStatsAction.NodeResponse(clusterService.localNode(), out);
    }

    private static List<VectorsStatsAction.ShardField> shardFields(IndexService index, IndexShard shard) {
        List<VectorsStatsAction.ShardField> out = new ArrayList<>();
        for (MappedFieldType type : index.mapperService().fieldTypes()) {
            if (type instanceof EmbeddingFieldType embedding) {
                out.add(field(index, shard, embedding));
            }
        }
        return out;
    }

    private static VectorsStatsAction.ShardField field(IndexService index, IndexShard shard, EmbeddingFieldType type) {
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
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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

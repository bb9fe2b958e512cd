package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.ingest.ReuseStats;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/** Fans {@link EmbeddingsStatsAction} out to the selected nodes; each answers from its own counters (cheap reads). */
public final class TransportEmbeddingsStatsAction
        extends TransportNodesAction<
                EmbeddingsStatsAction.Request,
                EmbeddingsStatsAction.Response,
                EmbeddingsStatsAction.NodeRequest,
                EmbeddingsStatsAction.NodeResponse> {

    private final InferenceService inference;
    private final ReuseStats reuse;

    @Inject
    public TransportEmbeddingsStatsAction(
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            InferenceService inference,
            ReuseStats reuse) {
        super(
                EmbeddingsStatsAction.NAME,
                threadPool,
                clusterService,
                transportService,
                actionFilters,
                EmbeddingsStatsAction.Request::new,
                EmbeddingsStatsAction.NodeRequest::new,
                ThreadPool.Names.MANAGEMENT,
                EmbeddingsStatsAction.NodeResponse.class);
        this.inference = inference;
        this.reuse = reuse;
    }

    @Override
    protected EmbeddingsStatsAction.Response newResponse(
            EmbeddingsStatsAction.Request request,
            List<EmbeddingsStatsAction.NodeResponse> responses,
            List<FailedNodeException> failures) {
        return new EmbeddingsStatsAction.Response(clusterService.getClusterName(), responses, failures);
    }

    @Override
    protected EmbeddingsStatsAction.NodeRequest newNodeRequest(EmbeddingsStatsAction.Request request) {
        return new EmbeddingsStatsAction.NodeRequest();
    }

    @Override
    protected EmbeddingsStatsAction.NodeResponse newNodeResponse(StreamInput in) throws IOException {
        return new EmbeddingsStatsAction.NodeResponse(in);
    }

    @Override
    protected EmbeddingsStatsAction.NodeResponse nodeOperation(EmbeddingsStatsAction.NodeRequest request) {
        return new EmbeddingsStatsAction.NodeResponse(
                clusterService.localNode(), NodeEmbeddingsStats.of(inference, reuse, threadPool));
    }
}

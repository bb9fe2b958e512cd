package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/**
 * What {@link TransportLoadModelAction} and {@link TransportUnloadModelAction} share: the fan-out to the selected
 * nodes, each node's operation on the generic pool (a load may wait there for its model, never on a transport or
 * request lane thread).
 */
abstract class TransportModelLifecycleAction
        extends TransportNodesAction<
                ModelLifecycle.Request,
                ModelLifecycle.Response,
                ModelLifecycle.NodeRequest,
                ModelLifecycle.NodeResponse> {

    TransportModelLifecycleAction(
            String name,
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters) {
        super(
                name,
                threadPool,
                clusterService,
                transportService,
                actionFilters,
                ModelLifecycle.Request::new,
                ModelLifecycle.NodeRequest::new,
                ThreadPool.Names.GENERIC,
                ModelLifecycle.NodeResponse.class);
    }

    @Override
    protected final ModelLifecycle.Response newResponse(
            ModelLifecycle.Request request,
            List<ModelLifecycle.NodeResponse> responses,
            List<FailedNodeException> failures) {
        return new ModelLifecycle.Response(clusterService.getClusterName(), responses, failures);
    }

    @Override
    protected final ModelLifecycle.NodeRequest newNodeRequest(ModelLifecycle.Request request) {
        return new ModelLifecycle.NodeRequest(request.model(), request.waitFor());
    }

    @Override
    protected final ModelLifecycle.NodeResponse newNodeResponse(StreamInput in) throws IOException {
        return new ModelLifecycle.NodeResponse(in);
    }

    @Override
    protected final ModelLifecycle.NodeResponse nodeOperation(ModelLifecycle.NodeRequest request) {
        return new ModelLifecycle.NodeResponse(clusterService.localNode(), operate(request));
    }

    /** This node's part of the action. */
    abstract ModelLifecycle.Outcome operate(ModelLifecycle.NodeRequest request);

    /** A failure as the node reports it: the client-safe reason and its status. */
    static ModelLifecycle.Outcome failure(String model, String state, Exception e) {
        return new ModelLifecycle.Outcome(
                model,
                state,
                0,
                e.getMessage(),
                org.opensearch.ExceptionsHelper.status(e).getStatus());
    }
}

package org.embeddings.opensearch.action;

import org.opensearch.action.ActionType;

/**
 * Loads a model on every selected node (all by default), as an operator's act: the load (and, for an {@code -int8}
 * form, its build) runs on each node's model loader, never on a request lane, and each node waits for it up to the
 * request's timeout, then says where it stands. A model that failed for the node's reasons (out of memory, I/O) is
 * retried at once rather than after its backoff. A {@code cluster:admin} action, so a search-only role cannot load.
 */
public final class LoadModelAction extends ActionType<ModelLifecycle.Response> {
    public static final String NAME = "cluster:admin/embeddings/models/load";
    public static final LoadModelAction INSTANCE = new LoadModelAction();

    private LoadModelAction() {
        super(NAME, ModelLifecycle.Response::new);
    }
}

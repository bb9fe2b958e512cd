package org.embeddings.opensearch.action;

import org.opensearch.action.ActionType;

/**
 * Unloads a model on every selected node (all by default): new requests no longer get it, requests already encoding
 * with it finish, and its memory is freed when the last of them ends; a load in flight is cancelled. A model that a
 * mapping binds or a pipeline names is loaded again by the next request that needs it. A {@code cluster:admin}
 * action.
 */
public final class UnloadModelAction extends ActionType<ModelLifecycle.Response> {
    public static final String NAME = "cluster:admin/embeddings/models/unload";
    public static final UnloadModelAction INSTANCE = new UnloadModelAction();

    private UnloadModelAction() {
        super(NAME, ModelLifecycle.Response::new);
    }
}

package org.embeddings.opensearch.action;

import org.opensearch.action.ActionType;

/**
 * Encodes texts with a model on the node that receives the request. It is a {@code cluster:admin} action because it
 * can load models and spend the node's inference capacity: a security plugin's roles decide who may call it.
 */
public final class EmbedAction extends ActionType<EmbedResponse> {
    public static final String NAME = "cluster:admin/embeddings/embed";
    public static final EmbedAction INSTANCE = new EmbedAction();

    private EmbedAction() {
        super(NAME, EmbedResponse::new);
    }
}

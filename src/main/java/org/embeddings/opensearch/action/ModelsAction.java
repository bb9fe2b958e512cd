package org.embeddings.opensearch.action;

import java.io.IOException;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.ActionRequestValidationException;
import org.opensearch.action.ActionType;
import org.opensearch.core.common.io.stream.StreamInput;

/**
 * Lists the models the receiving node knows: every bundled card and every installed model folder, with its state on
 * that node and the recipe it runs with. It only reads cards, never loads a model: a {@code cluster:monitor} action.
 */
public final class ModelsAction extends ActionType<ModelsResponse> {
    public static final String NAME = "cluster:monitor/embeddings/models";
    public static final ModelsAction INSTANCE = new ModelsAction();

    private ModelsAction() {
        super(NAME, ModelsResponse::new);
    }

    public static final class Request extends ActionRequest {
        public Request() {}

        public Request(StreamInput in) throws IOException {
            super(in);
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }
    }
}

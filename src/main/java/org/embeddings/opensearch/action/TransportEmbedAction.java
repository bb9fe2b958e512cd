package org.embeddings.opensearch.action;

import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.HandledTransportAction;
import org.opensearch.common.inject.Inject;
import org.opensearch.core.action.ActionListener;
import org.opensearch.tasks.Task;
import org.opensearch.transport.TransportService;

/**
 * Runs {@link EmbedAction} on the receiving node: resolves the model (a 400 naming the installed models when it is
 * not installed here, or naming the file when it is broken) and encodes the texts in the document lane.
 */
public final class TransportEmbedAction extends HandledTransportAction<EmbedRequest, EmbedResponse> {
    private final InferenceService inference;

    @Inject
    public TransportEmbedAction(
            TransportService transportService, ActionFilters actionFilters, InferenceService inference) {
        super(EmbedAction.NAME, transportService, actionFilters, EmbedRequest::new);
        this.inference = inference;
    }

    @Override
    protected void doExecute(Task task, EmbedRequest request, ActionListener<EmbedResponse> listener) {
        String model;
        try {
            model = inference.registry().installedCard(request.model()).name();
        } catch (RuntimeException e) {
            listener.onFailure(InferenceService.translate(e));
            return;
        }
        inference.embed(
                model,
                request.role(),
                request.texts(),
                ActionListener.map(listener, vectors -> new EmbedResponse(model, vectors)));
    }
}

package org.embeddings.opensearch.action;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.models.ModelState;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.HandledTransportAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.core.action.ActionListener;
import org.opensearch.tasks.Task;
import org.opensearch.transport.TransportService;

/**
 * Answers {@link ModelsAction} from the receiving node's cards and model states. A model whose card cannot be read,
 * or whose last load failed, is listed with its error: broken when its files are at fault (the error names the file
 * within the model's folder), in {@code backoff} when the node was (out of memory, I/O) and the load will be retried.
 */
public final class TransportModelsAction extends HandledTransportAction<ModelsAction.Request, ModelsResponse> {
    private final InferenceService inference;
    private final ClusterService clusterService;

    @Inject
    public TransportModelsAction(
            TransportService transportService,
            ActionFilters actionFilters,
            InferenceService inference,
            ClusterService clusterService) {
        super(ModelsAction.NAME, transportService, actionFilters, ModelsAction.Request::new);
        this.inference = inference;
        this.clusterService = clusterService;
    }

    @Override
    protected void doExecute(Task task, ModelsAction.Request request, ActionListener<ModelsResponse> listener) {
        ActionListener.completeWith(listener, () -> {
            ModelRegistry registry = inference.registry();
            List<String> installed = registry.installed();
            Map<String, ModelState> states = registry.states();
            TreeSet<String> names = new TreeSet<>(CardCatalog.names());
            names.addAll(installed);
            names.addAll(states.keySet());
            List<ModelInfo> models = new ArrayList<>(names.size());
            for (String name : names) {
                ModelState state = states.get(name);
                String error = state instanceof ModelState.Broken broken
                        ? broken.reason().getMessage()
                        : state instanceof ModelState.Backoff backoff
                                ? backoff.reason().getMessage()
                                : null;
                ModelInfo.Recipe recipe = null;
                try {
                    ModelCard card = registry.card(name);
                    recipe = ModelInfo.Recipe.of(card);
                } catch (RuntimeException e) {
                    error = error == null ? e.getMessage() : error;
                }
                models.add(new ModelInfo(
                        name, installed.contains(name), state == null ? "not_loaded" : state.label(), error, recipe));
            }
            return new ModelsResponse(clusterService.localNode().getId(), models);
        });
    }
}

package org.embeddings.opensearch.action;

import java.util.Locale;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/**
 * Runs {@link UnloadModelAction} on each selected node ({@link ModelRegistry#unload}): {@code unloaded} (closed once
 * its work in flight ends), {@code load_cancelled}, or {@code not_loaded}; the bytes it mapped.
 */
public final class TransportUnloadModelAction extends TransportModelLifecycleAction {
    private final InferenceService inference;

    @Inject
    public TransportUnloadModelAction(
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            InferenceService inference) {
        super(UnloadModelAction.NAME, threadPool, clusterService, transportService, actionFilters);
        this.inference = inference;
    }

    @Override
    ModelLifecycle.Outcome operate(ModelLifecycle.NodeRequest request) {
        ModelRegistry registry = inference.registry();
        String model = request.model();
        try {
            model = ModelName.normalize(request.model());
            long bytes = registry.loadedBytes(model);
            ModelRegistry.Unload done = registry.unload(model);
            return ModelLifecycle.Outcome.ok(model, done.name().toLowerCase(Locale.ROOT), bytes);
        } catch (RuntimeException e) {
            return failure(model, "not_loaded", InferenceService.translate(e));
        }
    }
}

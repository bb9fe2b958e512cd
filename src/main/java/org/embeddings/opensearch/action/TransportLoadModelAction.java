package org.embeddings.opensearch.action;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

/**
 * Runs {@link LoadModelAction} on each selected node: starts the load on the registry's loader (or joins the one in
 * flight; a model in backoff is retried now) and waits for it up to the request's timeout: {@code loaded} with the
 * bytes it maps, {@code loading} when it is not done yet, or the load's failure (400 broken files or an unknown
 * model, 429 past {@code max_loaded_bytes}, 503 a transient failure).
 */
public final class TransportLoadModelAction extends TransportModelLifecycleAction {
    private final InferenceService inference;

    @Inject
    public TransportLoadModelAction(
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            InferenceService inference) {
        super(LoadModelAction.NAME, threadPool, clusterService, transportService, actionFilters);
        this.inference = inference;
    }

    @Override
    ModelLifecycle.Outcome operate(ModelLifecycle.NodeRequest request) {
        ModelRegistry registry = inference.registry();
        String model = request.model();
        try {
            model = ModelName.normalize(request.model());
            CompletableFuture<Encoder> load = registry.load(model);
            load.get(request.waitFor().nanos(), TimeUnit.NANOSECONDS);
            return ModelLifecycle.Outcome.ok(model, "loaded", registry.loadedBytes(model));
        } catch (TimeoutException e) {
            return ModelLifecycle.Outcome.ok(model, "loading", 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failure(model, "loading", InferenceService.translate(e));
        } catch (ExecutionException | RuntimeException e) {
            String state = registry.states().containsKey(model)
                    ? registry.states().get(model).label()
                    : "not_loaded";
            return failure(model, state, InferenceService.translate(e));
        }
    }
}

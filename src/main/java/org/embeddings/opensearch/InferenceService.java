package org.embeddings.opensearch;

import org.embeddings.encoder.ModelRegistry;
import org.embeddings.encoder.Role;
import org.opensearch.common.util.concurrent.AbstractRunnable;
import org.opensearch.core.action.ActionListener;

import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * The one door from OpenSearch to the encoder: every inference runs on the plugin's own fixed thread pool, so no
 * transport, search or write thread ever waits on a model. A full queue rejects the task, which reaches the
 * listener as an {@code OpenSearchRejectedExecutionException} (HTTP 429).
 */
public final class InferenceService {
    public static final String THREAD_POOL = "embeddings";

    private final ModelRegistry registry;
    private final ExecutorService executor;

    public InferenceService(ModelRegistry registry, ExecutorService executor) {
        this.registry = registry;
        this.executor = executor;
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** Encodes {@code texts} for {@code role} with {@code model}, answering on the plugin's thread pool. */
    public void embed(String model, Role role, List<String> texts, ActionListener<float[][]> listener) {
        executor.execute(new AbstractRunnable() {
            @Override
            protected void doRun() {
                float[][] vectors;
                try {
                    vectors = registry.encoder(model).encode(texts, role);
                } catch (Exception e) {
                    listener.onFailure(e);
                    return;
                }
                listener.onResponse(vectors);
            }

            @Override
            public void onFailure(Exception e) {
                listener.onFailure(e);
            }
        });
    }
}

package org.embeddings.opensearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelName;
import org.embeddings.opensearch.inference.SearchLoads;
import org.embeddings.opensearch.ingest.EmbedProcessor;
import org.opensearch.cluster.ClusterState;
import org.opensearch.ingest.IngestMetadata;
import org.opensearch.ingest.PipelineConfiguration;

/**
 * Which models a search may make its coordinating node load. Loading a model is an operator's act: it takes memory
 * and, for an {@code -int8} form, seconds of both cores. So a search may load only a model the operator configured:
 * one an index's mapping binds a field to, one an ingest pipeline's {@code embed} processor names, or one
 * {@code embeddings.models.preload} lists. A model that is loaded (by {@code _load}, say) or loading serves any search;
 * with {@code embeddings.models.load_on_query: true} a search may load any installed model, as before this policy.
 *
 * <p>The configured set is read from the cluster state and computed once per metadata version: mappings through
 * {@link EmbeddingFields}, pipelines by walking each pipeline's definition for {@code embed} processors at any depth
 * ({@code on_failure}, {@code foreach}).
 */
public final class SearchLoadPolicy implements SearchLoads {
    private record Configured(long metadataVersion, String clusterUuid, Set<String> models) {}

    private final Supplier<ClusterState> state;
    private final EmbeddingFields fields;
    private final List<String> preload;
    private final boolean loadOnQuery;
    private volatile Configured configured;

    public SearchLoadPolicy(
            Supplier<ClusterState> state, EmbeddingFields fields, List<String> preload, boolean loadOnQuery) {
        this.state = state;
        this.fields = fields;
        this.preload = preload.stream().map(SearchLoadPolicy::normalizeOrNull).toList();
        this.loadOnQuery = loadOnQuery;
    }

    @Override
    public boolean mayLoad(String model) {
        return loadOnQuery || configured().contains(model);
    }

    /** The models the operator configured, as the class notes list them. */
    public Set<String> configured() {
        ClusterState current = state.get();
        Configured c = configured;
        long version = current.metadata().version();
        String uuid = current.metadata().clusterUUID();
        if (c == null || c.metadataVersion() != version || c.clusterUuid().equals(uuid) == false) {
            Set<String> models = new TreeSet<>();
            fields.boundModels(current).stream()
                    .map(SearchLoadPolicy::normalizeOrNull)
                    .filter(m -> m != null)
                    .forEach(models::add);
            IngestMetadata ingest = current.metadata().custom(IngestMetadata.TYPE);
            if (ingest != null) {
                for (PipelineConfiguration pipeline : ingest.getPipelines().values()) {
                    collectEmbedModels(pipeline.getConfigAsMap(), models);
                }
            }
            preload.stream().filter(m -> m != null).forEach(models::add);
            c = new Configured(version, uuid, Set.copyOf(models));
            configured = c;
        }
        return c.models();
    }

    /** What the policy allows, and the switches that change it. */
    @Override
    public String refusal(String model) {
        return "model [" + model + "] is not loaded on this node, and a search loads only a model that an index's"
                + " mapping binds, an ingest pipeline names, or embeddings.models.preload lists; load it with POST"
                + " _plugins/_embeddings/models/" + model + "/_load, or set embeddings.models.load_on_query: true to"
                + " let searches load any installed model";
    }

    private static void collectEmbedModels(Object node, Set<String> out) {
        if (node instanceof Map<?, ?> map) {
            if (map.get(EmbedProcessor.TYPE) instanceof Map<?, ?> embed && embed.get("model") instanceof String m) {
                String normalized = normalizeOrNull(m);
                if (normalized != null) {
                    out.add(normalized);
                }
            }
            for (Object value : map.values()) {
                collectEmbedModels(value, out);
            }
        } else if (node instanceof Collection<?> list) {
            for (Object value : list) {
                collectEmbedModels(value, out);
            }
        }
    }

    private static String normalizeOrNull(String name) {
        try {
            return ModelName.normalize(name);
        } catch (InvalidInputException e) {
            return null;
        }
    }
}

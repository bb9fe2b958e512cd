package org.embeddings.opensearch;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper;
import org.opensearch.action.IndicesRequest;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.metadata.MappingMetadata;

/**
 * Which model an {@code embedding} field is bound to, read from the mappings in the cluster state, so that the
 * coordinating node (which may hold no shard of the index) can encode a query text for a field that names its
 * model, and an ingest node can refuse to write another model's vectors into it.
 *
 * <p>Each index's mapping is parsed once per mapping version into a map of dotted field path to its type and bound
 * model (null for an {@code embedding} field given {@code dims} only); later lookups are map reads.
 */
public final class EmbeddingFields {
    /** A mapped field as the mapping states it: its type and, for an {@code embedding} field, its model (or null). */
    public record MappedField(String type, String model) {
        public boolean isEmbedding() {
            return EmbeddingFieldMapper.CONTENT_TYPE.equals(type);
        }
    }

    private record Parsed(String uuid, long mappingVersion, Map<String, MappedField> fields) {}

    private final Supplier<ClusterState> state;
    private final IndexNameExpressionResolver resolver;
    private final ConcurrentHashMap<String, Parsed> cache = new ConcurrentHashMap<>();

    public EmbeddingFields(Supplier<ClusterState> state, IndexNameExpressionResolver resolver) {
        this.state = state;
        this.resolver = resolver;
    }

    /**
     * The model {@code field} is bound to in the indices a search request targets; empty when no target index binds
     * it. Fails with a 400 when the indices bind it to different models.
     */
    public Optional<String> boundModel(IndicesRequest request, String field) {
        ClusterState current = state.get();
        TreeSet<String> models = new TreeSet<>();
        for (String index : resolver.concreteIndexNames(current, request)) {
            MappedField mapped = fields(current.metadata().index(index)).get(field);
            if (mapped != null && mapped.model() != null) {
                models.add(mapped.model());
            }
        }
        if (models.size() > 1) {
            throw new IllegalArgumentException(
                    "field [" + field + "] is bound to different models in the searched indices: " + models
                            + "; search one model's indices at a time");
        }
        return models.stream().findFirst();
    }

    /** Every model an {@code embedding} field of some index is bound to, in the given cluster state. */
    public Set<String> boundModels(ClusterState current) {
        Set<String> models = new TreeSet<>();
        for (IndexMetadata index : current.metadata().indices().values()) {
            for (MappedField field : fields(index).values()) {
                if (field.isEmbedding() && field.model() != null) {
                    models.add(field.model());
                }
            }
        }
        return models;
    }

    /** Whether concrete index {@code index} exists in the cluster state. */
    public boolean exists(String index) {
        return state.get().metadata().index(index) != null;
    }

    /** How {@code field} is mapped in concrete index {@code index}; empty for an unknown index or an unmapped field. */
    public Optional<MappedField> mapped(String index, String field) {
        IndexMetadata metadata = state.get().metadata().index(index);
        return metadata == null
                ? Optional.empty()
                : Optional.ofNullable(fields(metadata).get(field));
    }

    private Map<String, MappedField> fields(IndexMetadata metadata) {
        if (metadata == null) {
            return Map.of();
        }
        String name = metadata.getIndex().getName();
        Parsed parsed = cache.get(name);
        if (parsed == null
                || parsed.uuid().equals(metadata.getIndexUUID()) == false
                || parsed.mappingVersion() != metadata.getMappingVersion()) {
            MappingMetadata mapping = metadata.mapping();
            Map<String, MappedField> fields = new HashMap<>();
            if (mapping != null) {
                collect("", mapping.sourceAsMap(), fields);
            }
            parsed = new Parsed(metadata.getIndexUUID(), metadata.getMappingVersion(), Map.copyOf(fields));
            cache.put(name, parsed);
        }
        return parsed.fields();
    }

    @SuppressWarnings("unchecked")
    private static void collect(String prefix, Map<String, Object> mapping, Map<String, MappedField> out) {
        if (mapping.get("properties") instanceof Map<?, ?> properties) {
            for (Map.Entry<?, ?> e : properties.entrySet()) {
                if (e.getValue() instanceof Map<?, ?> field) {
                    String path = prefix + e.getKey();
                    String type = field.get("type") instanceof String t ? t : "object";
                    out.put(path, new MappedField(type, field.get("model") instanceof String model ? model : null));
                    collect(path + ".", (Map<String, Object>) field, out);
                }
            }
        }
    }
}

package org.embeddings.opensearch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper;
import org.opensearch.action.IndicesRequest;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.metadata.IndexTemplateMetadata;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.metadata.Metadata;
import org.opensearch.cluster.metadata.MetadataIndexTemplateService;
import org.opensearch.common.compress.CompressedXContent;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.index.mapper.DynamicTemplate;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.MapperService;

/**
 * Which model an {@code embedding} field is bound to, read from the mappings in the cluster state, so that the
 * coordinating node (which may hold no shard of the index) can encode a query text for a field that names its
 * model, and an ingest node can refuse to write another model's vectors into it.
 *
 * <p>Each index's mapping is parsed once per mapping version into a map of dotted field path to its type and bound
 * model (null for an {@code embedding} field given {@code dims} only), and its dynamic templates; later lookups are
 * map reads. The mapping an index to be created will get is read from its index templates on each call.
 */
public final class EmbeddingFields {
    /** A mapped field as the mapping states it: its type and, for an {@code embedding} field, its model (or null). */
    public record MappedField(String type, String model) {
        public boolean isEmbedding() {
            return EmbeddingFieldMapper.CONTENT_TYPE.equals(type);
        }
    }

    /** One mapping, parsed: its fields by dotted path, and its dynamic templates in order. */
    private record Parsed(
            String uuid, long mappingVersion, Map<String, MappedField> fields, List<DynamicTemplate> dynamic) {}

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

    /**
     * The mapping a document written to {@code name} lands in: date math resolved, an alias or a data stream resolved
     * to its write index, whose mapping it is; a name that is no index yet gets the mapping its index templates give
     * it (composable templates first, else the legacy ones, lowest order first). Null where the write has no single
     * target (an alias without a write index), which OpenSearch refuses itself.
     */
    public WriteMapping writeMapping(String name) {
        ClusterState current = state.get();
        String resolved = resolver.resolveDateMathExpression(name);
        IndexAbstraction abstraction = current.metadata().getIndicesLookup().get(resolved);
        if (abstraction != null) {
            IndexMetadata write = abstraction.getWriteIndex();
            if (write == null) {
                return null;
            }
            Parsed parsed = parsed(write);
            return new WriteMapping(
                    write.getIndex().getName(),
                    true,
                    parsed.fields(),
                    parsed.dynamic(),
                    MapperService.INDEX_MAPPING_NESTED_DOCS_LIMIT_SETTING.get(write.getSettings()));
        }
        Map<String, MappedField> fields = new HashMap<>();
        List<DynamicTemplate> dynamic = new ArrayList<>();
        for (Map<String, Object> mapping : templateMappings(current, resolved)) {
            collect("", mapping, fields);
            dynamic.addAll(dynamicTemplates(mapping));
        }
        return new WriteMapping(resolved, false, Map.copyOf(fields), List.copyOf(dynamic), Long.MAX_VALUE);
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

    /** The mappings index templates give a new index {@code name}, in the order they apply. */
    private static List<Map<String, Object>> templateMappings(ClusterState state, String name) {
        Metadata metadata = state.metadata();
        List<CompressedXContent> sources = new ArrayList<>();
        String composable = MetadataIndexTemplateService.findV2Template(metadata, name, false);
        if (composable != null) {
            try {
                sources.addAll(MetadataIndexTemplateService.collectMappings(state, composable, name));
            } catch (Exception e) {
                throw new IllegalStateException("cannot read the mappings of index template [" + composable + "]", e);
            }
        } else {
            List<IndexTemplateMetadata> legacy = MetadataIndexTemplateService.findV1Templates(metadata, name, null);
            for (int i = legacy.size() - 1; i >= 0; i--) { // highest order first: apply the lowest first
                if (legacy.get(i).mappings() != null) {
                    sources.add(legacy.get(i).mappings());
                }
            }
        }
        List<Map<String, Object>> out = new ArrayList<>(sources.size());
        for (CompressedXContent source : sources) {
            Map<String, Object> map = XContentHelper.convertToMap(
                            source.compressedReference(), true, MediaTypeRegistry.JSON)
                    .v2();
            out.add(unwrapType(map));
        }
        return out;
    }

    /** A mapping as templates store it may sit under its type name ({@code _doc}). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> unwrapType(Map<String, Object> mapping) {
        if (mapping.size() == 1
                && mapping.containsKey("properties") == false
                && mapping.values().iterator().next() instanceof Map<?, ?> inner) {
            return (Map<String, Object>) inner;
        }
        return mapping;
    }

    /** The mapping's dynamic templates, in order; one that does not parse is left out (the index refused it). */
    private static List<DynamicTemplate> dynamicTemplates(Map<String, Object> mapping) {
        List<DynamicTemplate> out = new ArrayList<>();
        if (mapping.get("dynamic_templates") instanceof List<?> templates) {
            for (Object entry : templates) {
                if (entry instanceof Map<?, ?> named) {
                    for (Map.Entry<?, ?> e : named.entrySet()) {
                        if (e.getValue() instanceof Map<?, ?> conf) {
                            try {
                                @SuppressWarnings("unchecked")
                                Map<String, Object> config = (Map<String, Object>) conf;
                                out.add(DynamicTemplate.parse(String.valueOf(e.getKey()), config));
                            } catch (MapperParsingException | IllegalArgumentException ignored) {
                                // not a template OpenSearch applies either
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private Map<String, MappedField> fields(IndexMetadata metadata) {
        return metadata == null ? Map.of() : parsed(metadata).fields();
    }

    private Parsed parsed(IndexMetadata metadata) {
        String name = metadata.getIndex().getName();
        Parsed parsed = cache.get(name);
        if (parsed == null
                || parsed.uuid().equals(metadata.getIndexUUID()) == false
                || parsed.mappingVersion() != metadata.getMappingVersion()) {
            MappingMetadata mapping = metadata.mapping();
            Map<String, MappedField> fields = new HashMap<>();
            List<DynamicTemplate> dynamic = List.of();
            if (mapping != null) {
                collect("", mapping.sourceAsMap(), fields);
                dynamic = dynamicTemplates(mapping.sourceAsMap());
            }
            parsed = new Parsed(
                    metadata.getIndexUUID(), metadata.getMappingVersion(), Map.copyOf(fields), List.copyOf(dynamic));
            cache.put(name, parsed);
        }
        return parsed;
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

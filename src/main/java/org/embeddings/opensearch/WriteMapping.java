package org.embeddings.opensearch;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.embeddings.opensearch.EmbeddingFields.MappedField;
import org.opensearch.index.mapper.DynamicTemplate;

/**
 * The mapping a document written to an index name will be indexed with: that of the concrete write index the name
 * resolves to (through date math, an alias or a data stream), or, for an index the write will create, the mapping its
 * index templates give it. See {@link EmbeddingFields#writeMapping}.
 *
 * @param index            the concrete index the write lands in, for messages
 * @param exists           whether that index exists yet (else the mapping is its templates')
 * @param fields           dotted path to mapped field
 * @param dynamicTemplates the mapping's dynamic templates, in order
 * @param nestedObjectsLimit the most nested documents one document may hold there
 *     ({@code index.mapping.nested_objects.limit}); {@code Long.MAX_VALUE} for an index the write will create, whose
 *     templates may set it
 */
public record WriteMapping(
        String index,
        boolean exists,
        Map<String, MappedField> fields,
        List<DynamicTemplate> dynamicTemplates,
        long nestedObjectsLimit) {

    /** How a dynamic template maps a field: the template's name, the field's type, and its model (or null). */
    public record DynamicField(String template, String type, String model) {}

    public Optional<MappedField> field(String path) {
        return Optional.ofNullable(fields.get(path));
    }

    /**
     * How dynamic mapping would map {@code path}, unmapped, on receiving an array of floats: as the first dynamic
     * template whose {@code match}, {@code path_match} and {@code match_mapping_type} (a JSON float is a
     * {@code double}) take it maps it; empty when none does (OpenSearch then maps it as a plain {@code float}).
     */
    public Optional<DynamicField> dynamicVectorField(String path) {
        String leaf = path.substring(path.lastIndexOf('.') + 1);
        for (DynamicTemplate template : dynamicTemplates) {
            if (template.match(path, leaf, DynamicTemplate.XContentFieldType.DOUBLE)) {
                String type = DynamicTemplate.XContentFieldType.DOUBLE.defaultMappingType();
                Map<String, Object> mapping = template.mappingForName(leaf, type);
                String mapped = mapping.get("type") instanceof String t ? t : template.mappingType(type);
                return Optional.of(new DynamicField(
                        template.name(), mapped, mapping.get("model") instanceof String model ? model : null));
            }
        }
        return Optional.empty();
    }
}

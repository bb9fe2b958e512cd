package org.embeddings.opensearch.ingest;

import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.Processor;

import java.util.Map;
import java.util.function.Supplier;

/**
 * Builds {@link EmbedProcessor}s from pipeline definitions: {@code model} (required), {@code field_map} (required,
 * source field to target field), {@code ignore_missing} (default false). An unknown model, or an empty or non-string
 * field map, is refused when the pipeline is created, not when the first document arrives.
 */
public final class EmbedProcessorFactory implements Processor.Factory {
    private final Supplier<InferenceService> inference;
    private final Supplier<EmbeddingFields> fields;

    public EmbedProcessorFactory(Supplier<InferenceService> inference, Supplier<EmbeddingFields> fields) {
        this.inference = inference;
        this.fields = fields;
    }

    @Override
    public EmbedProcessor create(Map<String, Processor.Factory> factories, String tag, String description, Map<String, Object> config) {
        String model = ConfigurationUtils.readStringProperty(EmbedProcessor.TYPE, tag, config, "model");
        Map<String, Object> rawMap = ConfigurationUtils.readMap(EmbedProcessor.TYPE, tag, config, "field_map");
        boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(EmbedProcessor.TYPE, tag, config, "ignore_missing", false);
        if (rawMap.isEmpty()) {
            throw ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "field_map", "must map at least one source field");
        }
        Map<String, String> fieldMap = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Object> e : rawMap.entrySet()) {
            if (e.getValue() instanceof String target && target.isBlank() == false) {
                fieldMap.put(e.getKey(), target);
            } else {
                throw ConfigurationUtils.newConfigurationException(
                    EmbedProcessor.TYPE,
                    tag,
                    "field_map",
                    "target of [" + e.getKey() + "] must be a field name, got [" + e.getValue() + "]"
                );
            }
        }
        InferenceService service = inference.get();
        if (service == null) {
            throw new IllegalStateException("the embeddings plugin has not started yet");
        }
        String normalized;
        try {
            normalized = service.registry().installedCard(model).name();
        } catch (IllegalArgumentException e) {
            throw ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "model", e.getMessage());
        }
        return new EmbedProcessor(tag, description, normalized, fieldMap, ignoreMissing, service, fields.get());
    }
}

package org.embeddings.opensearch.mapper;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.lucene.Quantization;
import org.embeddings.lucene.VectorFormat;
import org.embeddings.opensearch.codec.VectorCodecService;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.MapperParsingException;

/**
 * The {@code index_options} of an {@code embedding} field:
 * {@code {"type": "hnsw" | "flat", "m": 16, "ef_construction": 100, "quantization": "none" | "int8" | "int4" | "binary"}},
 * every key optional, parsed into the field's {@link VectorFormat}. Absent, the field keeps float32 HNSW with
 * Lucene's defaults, which is what every {@code embedding} field had before the option existed.
 *
 * <p>Declared as a parameter of its own: a parametrized mapper that does not declare {@code index_options} drops it
 * with a deprecation warning only. It cannot change on an existing field (a mapping update answers 400 naming both
 * values): segments already written keep their format, so one field would hold two; reindex instead.
 */
public final class IndexOptions {
    static final String NAME = "index_options";
    private static final List<String> KEYS = List.of("type", "m", "ef_construction", "quantization");

    private IndexOptions() {}

    static VectorFormat parse(String field, Object node) {
        if (!(node instanceof Map<?, ?> map)) {
            throw new MapperParsingException(
                    "[" + NAME + "] of field [" + field + "] must be an object, got [" + node + "]");
        }
        List<String> unknown = map.keySet().stream()
                .map(String::valueOf)
                .filter(k -> KEYS.contains(k) == false)
                .sorted()
                .toList();
        if (unknown.isEmpty() == false) {
            throw new MapperParsingException("unknown [" + NAME + "] parameter" + (unknown.size() > 1 ? "s " : " ")
                    + unknown + " of field [" + field + "], expected some of " + KEYS);
        }
        try {
            String type = string(map, "type", "hnsw");
            boolean graph = switch (type) {
                case "hnsw" -> true;
                case "flat" -> false;
                default ->
                    throw new IllegalArgumentException("unknown [type] [" + type + "], expected one of [hnsw, flat]");
            };
            if (graph == false && (map.containsKey("m") || map.containsKey("ef_construction"))) {
                throw new IllegalArgumentException(
                        "[m] and [ef_construction] shape the HNSW graph; [type: flat] has none");
            }
            int m = integer(map, "m", VectorFormat.DEFAULT_M);
            int ef = integer(map, "ef_construction", VectorFormat.DEFAULT_EF_CONSTRUCTION);
            Quantization quantization = Quantization.of(string(map, "quantization", "none"));
            return new VectorFormat(graph, quantization, m, ef);
        } catch (IllegalArgumentException e) {
            throw new MapperParsingException("[" + NAME + "] of field [" + field + "]: " + e.getMessage());
        }
    }

    private static String string(Map<?, ?> map, String key, String otherwise) {
        Object v = map.get(key);
        if (v == null) {
            return otherwise;
        }
        if ((v instanceof String) == false) {
            throw new IllegalArgumentException("[" + key + "] must be a string, got [" + v + "]");
        }
        return ((String) v).toLowerCase(Locale.ROOT);
    }

    private static int integer(Map<?, ?> map, String key, int otherwise) {
        Object v = map.get(key);
        if (v == null) {
            return otherwise;
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            long l = ((Number) v).longValue();
            if (l == (int) l) {
                return (int) l;
            }
        }
        if (v instanceof String s && s.matches("-?\\d{1,9}")) {
            return Integer.parseInt(s);
        }
        throw new IllegalArgumentException("[" + key + "] must be an integer, got [" + v + "]");
    }

    public static Map<String, Object> toMap(VectorFormat format) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("type", format.graph() ? "hnsw" : "flat");
        if (format.graph()) {
            out.put("m", format.m());
            out.put("ef_construction", format.efConstruction());
        }
        out.put("quantization", format.quantization().label());
        return out;
    }

    /**
     * Options other than the default need this plugin's codec; on an index whose codec another plugin supplies (the
     * k-NN plugin, for {@code index.knn: true}) they would be ignored, so they are refused instead.
     */
    static void checkCodecOwner(String field, VectorFormat format, Settings indexSettings) {
        if (format.isDefault() == false && VectorCodecService.suppliesCodecFor(indexSettings) == false) {
            throw new MapperParsingException(
                    "[" + NAME + "] of field [" + field + "] need the embeddings plugin's codec, but this index has ["
                            + VectorCodecService.KNN_INDEX_SETTING
                            + ": true], so the k-NN plugin supplies its codec and would ignore them; remove [" + NAME
                            + "] or use an index without ["
                            + VectorCodecService.KNN_INDEX_SETTING + "]");
        }
    }
}

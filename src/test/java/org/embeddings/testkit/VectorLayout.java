package org.embeddings.testkit;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.Arrays;
import java.util.List;

/**
 * The one catalogue of {@code index_options} layouts of an {@code embedding} field that the benchmarks measure and
 * the real-node tests carry through restarts, relocations and force-merges, in a fixed order: each layout's name (what
 * {@code bench.sh vectors million} takes and the benchmarks print; a field name in the tests) and its
 * {@code index_options} (null: none given, the field's default, float32 HNSW). Whether a layout keeps a graph and a
 * quantized copy is read from its {@code index_options}, so the catalogue has one fact per layout.
 *
 * <p>{@link #formats()} is every storage format, graph or flat with each quantization, at the default graph
 * parameters: what the benchmarks compare. {@link #HNSW_M8} adds graph parameters of its own, which the tests must see
 * survive along with the formats.
 */
public enum VectorLayout {
    HNSW("hnsw", null),
    HNSW_M8("hnsw-m8", "{\"type\": \"hnsw\", \"m\": 8, \"ef_construction\": 64}"),
    HNSW_INT8("hnsw-int8", "{\"type\": \"hnsw\", \"quantization\": \"int8\"}"),
    HNSW_INT4("hnsw-int4", "{\"type\": \"hnsw\", \"quantization\": \"int4\"}"),
    HNSW_BINARY("hnsw-binary", "{\"type\": \"hnsw\", \"quantization\": \"binary\"}"),
    FLAT("flat", "{\"type\": \"flat\"}"),
    FLAT_INT8("flat-int8", "{\"type\": \"flat\", \"quantization\": \"int8\"}"),
    FLAT_INT4("flat-int4", "{\"type\": \"flat\", \"quantization\": \"int4\"}"),
    FLAT_BINARY("flat-binary", "{\"type\": \"flat\", \"quantization\": \"binary\"}");

    private final String label;
    private final String indexOptions;

    VectorLayout(String label, String indexOptions) {
        this.label = label;
        this.indexOptions = indexOptions;
    }

    public String label() {
        return label;
    }

    /** The {@code index_options} object as JSON; null for the default layout, which gives none. */
    public String indexOptions() {
        return indexOptions;
    }

    /** Whether the layout builds an HNSW graph; a flat one is searched exhaustively. */
    public boolean graph() {
        return indexOptions == null || "flat".equals(option("type")) == false;
    }

    /** Whether the layout keeps a quantized copy of the vectors beside the float32 ones. */
    public boolean quantized() {
        return option("quantization") != null;
    }

    /** An {@code embedding} field of {@code dims} dimensions in this layout, as a mapping's JSON. */
    public String field(int dims) {
        return "{\"type\": \"embedding\", \"dims\": " + dims
                + (indexOptions == null ? "" : ", \"index_options\": " + indexOptions) + "}";
    }

    private String option(String name) {
        if (indexOptions == null) {
            return null;
        }
        JsonObject options = JsonParser.parseString(indexOptions).getAsJsonObject();
        return options.has(name) ? options.get(name).getAsString() : null;
    }

    /** Every storage format at the default graph parameters, in catalogue order: all but {@link #HNSW_M8}. */
    public static List<VectorLayout> formats() {
        return Arrays.stream(values()).filter(l -> l != HNSW_M8).toList();
    }

    /** The format named {@code label}; an unknown name is an error that lists the known ones. */
    public static VectorLayout format(String label) {
        return formats().stream()
                .filter(l -> l.label.equals(label))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown option [" + label + "], expected some of "
                        + formats().stream().map(VectorLayout::label).toList()));
    }
}

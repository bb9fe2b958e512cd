package org.embeddings.opensearch.highlight;

import java.util.List;
import java.util.Map;
import org.embeddings.encoder.ModelName;

/**
 * The {@code options} of an {@code embedding} highlight field, parsed once per field:
 * <ul>
 *   <li>{@code passages}: the {@code nested} path whose passages were cut from this field (default: the one nested
 *       vector field the query searches);
 *   <li>{@code encode_sentences} (default false): for a hit without passages, encode the field's sentences at fetch
 *       time and rank them instead;
 *   <li>{@code model}: the model those sentences are encoded with (default: the model bound to the vector field the
 *       query searched).
 * </ul>
 * An unknown option, a value of the wrong type, a name that can never be a model's, or a {@code passages} path the
 * index does not map as {@code nested} is a 400 naming it.
 */
record HighlightOptions(String passages, boolean encodeSentences, String model) {
    static final String PASSAGES = "passages", ENCODE_SENTENCES = "encode_sentences", MODEL = "model";
    private static final List<String> KEYS = List.of(PASSAGES, ENCODE_SENTENCES, MODEL);

    static HighlightOptions parse(Map<String, Object> options) {
        if (options == null || options.isEmpty()) {
            return new HighlightOptions(null, false, null);
        }
        for (String key : options.keySet()) {
            if (KEYS.contains(key) == false) {
                throw new IllegalArgumentException("[" + EmbeddingHighlighter.NAME + "] highlighter: unknown option ["
                        + key + "], expected one of " + KEYS);
            }
        }
        Object encode = options.getOrDefault(ENCODE_SENTENCES, false);
        if (encode instanceof Boolean == false) {
            throw new IllegalArgumentException("[" + EmbeddingHighlighter.NAME + "] highlighter: [" + ENCODE_SENTENCES
                    + "] must be true or false, got [" + encode + "]");
        }
        String model = string(options, MODEL);
        if (model != null) {
            try {
                model = ModelName.normalize(model);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "[" + EmbeddingHighlighter.NAME + "] highlighter: [" + MODEL + "] " + e.getMessage());
            }
        }
        return new HighlightOptions(string(options, PASSAGES), (Boolean) encode, model);
    }

    private static String string(Map<String, Object> options, String key) {
        Object value = options.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof String s && s.isBlank() == false) {
            return s;
        }
        throw new IllegalArgumentException("[" + EmbeddingHighlighter.NAME + "] highlighter: [" + key
                + "] must be a non-empty string, got [" + value + "]");
    }
}

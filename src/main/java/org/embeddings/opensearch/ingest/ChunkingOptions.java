package org.embeddings.opensearch.ingest;

import java.util.List;
import java.util.Map;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.ChunkingStrategy;
import org.opensearch.ingest.ConfigurationUtils;

/**
 * Parses the {@code chunking} object of an {@code embed} processor, once, when the pipeline is built:
 * {@code strategy} ({@code tokens}, {@code sentences} or {@code delimiter}; default {@link Chunking#DEFAULT_STRATEGY}),
 * {@code max_tokens}, {@code overlap_tokens}, {@code whole_tokens}, {@code overlap_sentences} (strategy
 * {@code sentences} only), {@code delimiter} (strategy {@code delimiter} only), {@code lead_sentence} (true or false)
 * and {@code title_field}. Every bad
 * option is a 400 naming it: an unknown key, a number that is not a positive integer (a non-negative one for the
 * overlaps), an option of another strategy, a window past the model's limit, an overlap not below the window, a
 * {@code whole_tokens} below it, an empty delimiter, a title field that is not a field name.
 */
final class ChunkingOptions {
    static final String STRATEGY = "strategy", MAX_TOKENS = "max_tokens", OVERLAP_TOKENS = "overlap_tokens";
    static final String WHOLE_TOKENS = "whole_tokens", OVERLAP_SENTENCES = "overlap_sentences";
    static final String DELIMITER = "delimiter", TITLE_FIELD = "title_field", LEAD_SENTENCE = "lead_sentence";
    private static final List<String> KEYS = List.of(
            STRATEGY,
            MAX_TOKENS,
            OVERLAP_TOKENS,
            WHOLE_TOKENS,
            OVERLAP_SENTENCES,
            DELIMITER,
            LEAD_SENTENCE,
            TITLE_FIELD);

    private ChunkingOptions() {}

    /** The chunking for {@code card}'s model, or null without {@code chunking}. */
    static Chunking chunking(String tag, Map<String, Object> options, ModelCard card) {
        if (options == null) {
            return null;
        }
        for (String key : options.keySet()) {
            if (KEYS.contains(key) == false) {
                throw error(tag, "unknown option [" + key + "], expected one of " + KEYS);
            }
        }
        ChunkingStrategy strategy = strategy(tag, options);
        Integer max = integer(tag, options, MAX_TOKENS, true);
        Integer overlap = integer(tag, options, OVERLAP_TOKENS, false);
        Integer whole = integer(tag, options, WHOLE_TOKENS, true);
        Object lead = options.get(LEAD_SENTENCE);
        if (lead != null && lead instanceof Boolean == false) {
            throw error(tag, "[" + LEAD_SENTENCE + "] must be true or false, got [" + lead + "]");
        }
        try {
            return Chunking.of(strategy, max, overlap, whole, (Boolean) lead, card);
        } catch (IllegalArgumentException e) {
            throw error(tag, e.getMessage());
        }
    }

    /** The strategy and its own options; an option of another strategy is refused rather than ignored. */
    private static ChunkingStrategy strategy(String tag, Map<String, Object> options) {
        Object value = options.get(STRATEGY);
        String label = value == null ? Chunking.DEFAULT_STRATEGY.label() : value.toString();
        if (value != null && value instanceof String == false) {
            throw error(tag, "[" + STRATEGY + "] must be a string, got [" + value + "]");
        }
        requireOnlyWith(tag, options, OVERLAP_SENTENCES, ChunkingStrategy.SENTENCES, label);
        requireOnlyWith(tag, options, DELIMITER, ChunkingStrategy.DELIMITER, label);
        try {
            return switch (label) {
                case ChunkingStrategy.TOKENS -> new ChunkingStrategy.ByTokens();
                case ChunkingStrategy.SENTENCES -> {
                    Integer overlap = integer(tag, options, OVERLAP_SENTENCES, false);
                    yield new ChunkingStrategy.BySentences(
                            overlap == null ? ChunkingStrategy.BySentences.DEFAULT_OVERLAP_SENTENCES : overlap);
                }
                case ChunkingStrategy.DELIMITER -> {
                    Object delimiter = options.get(DELIMITER);
                    if (delimiter != null && delimiter instanceof String == false) {
                        throw error(tag, "[" + DELIMITER + "] must be a string, got [" + delimiter + "]");
                    }
                    yield new ChunkingStrategy.ByDelimiter(
                            delimiter == null ? ChunkingStrategy.ByDelimiter.DEFAULT_DELIMITER : (String) delimiter);
                }
                default ->
                    throw error(
                            tag,
                            "unknown [" + STRATEGY + "] [" + label + "], expected one of [" + ChunkingStrategy.TOKENS
                                    + ", " + ChunkingStrategy.SENTENCES + ", " + ChunkingStrategy.DELIMITER + "]");
            };
        } catch (IllegalArgumentException e) {
            throw error(tag, e.getMessage());
        }
    }

    private static void requireOnlyWith(
            String tag, Map<String, Object> options, String option, String strategy, String label) {
        if (options.containsKey(option) && strategy.equals(label) == false) {
            throw error(
                    tag, "[" + option + "] applies to [" + STRATEGY + "] [" + strategy + "] only, not [" + label + "]");
        }
    }

    /** The chunking's {@code title_field}, or null. */
    static String titleField(String tag, Map<String, Object> options) {
        if (options == null || options.get(TITLE_FIELD) == null) {
            return null;
        }
        if (options.get(TITLE_FIELD) instanceof String field && field.isBlank() == false) {
            return field;
        }
        throw error(tag, "[" + TITLE_FIELD + "] must be a field name, got [" + options.get(TITLE_FIELD) + "]");
    }

    private static Integer integer(String tag, Map<String, Object> options, String key, boolean positive) {
        Object value = options.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short) {
            long v = ((Number) value).longValue();
            if (v > 0 && v <= Integer.MAX_VALUE || v == 0 && positive == false) {
                return (int) v;
            }
        }
        throw error(
                tag,
                "[" + key + "] must be a " + (positive ? "positive" : "non-negative") + " integer, got [" + value
                        + "]");
    }

    private static RuntimeException error(String tag, String message) {
        return ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "chunking", message);
    }
}

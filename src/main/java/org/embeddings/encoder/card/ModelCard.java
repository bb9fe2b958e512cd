package org.embeddings.encoder.card;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Labels;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.Pooling;
import org.embeddings.encoder.Prompt;

/**
 * Everything the encoder needs to know to use a model the way its authors trained it: how to prompt each role,
 * how many tokens it reads, how its output is pooled and normalized, and which ONNX output holds its states (the
 * inputs need no card: {@code OnnxModel} reads them from the graph and feeds each one it knows).
 *
 * <p>A card is read from JSON (see {@code models/*.json}); layers of JSON (a bundled card, a folder's
 * sentence-transformers files, a folder's {@code card.json}) are merged key by key before parsing, the later
 * layer winning, so that each source can set only what it knows.
 *
 * <p>{@code int8Fp32} (card key {@code int8_fp32}; null for {@code int8.Int8Quantizer.recipe()}: none) names, as a regular
 * expression over ONNX node names, the weight matmuls the model's int8 form keeps in fp32: a model whose int8 form
 * loses quality with the default recipe carries the one measured for it.
 */
public record ModelCard(
        String name,
        String huggingFaceId,
        int dims,
        Pooling pooling,
        boolean normalize,
        int maxTokens,
        Prompt prompt,
        PaddingSide paddingSide,
        String output,
        String int8Fp32) {
    /** Lucene's default limit on vector dimensions. */
    public static final int MAX_DIMS = 4096;

    public enum PaddingSide {
        LEFT,
        RIGHT
    }

    public ModelCard {
        ModelName.check(name);
        if (dims < 1 || dims > MAX_DIMS) {
            throw new InvalidInputException(
                    "model [" + name + "]: dims must be within [1, " + MAX_DIMS + "], got " + dims);
        }
        if (maxTokens < 2) {
            throw new InvalidInputException("model [" + name + "]: max_tokens must be at least 2, got " + maxTokens);
        }
        if (int8Fp32 != null) {
            try {
                Pattern.compile(int8Fp32);
            } catch (PatternSyntaxException e) {
                throw new InvalidInputException(
                        "model [" + name + "]: int8_fp32 is not a regular expression: " + e.getMessage());
            }
        }
    }

    /**
     * Whether the vector comes from the output's first position alone ([CLS] pooling with right padding), so that a
     * graph computing only that position gives the same vectors.
     */
    public boolean poolsFirstTokenOnly() {
        return pooling == Pooling.CLS && paddingSide == PaddingSide.RIGHT;
    }

    /** The same recipe under another name (the derived int8 form of a model keeps its base model's card). */
    public ModelCard withName(String newName) {
        return new ModelCard(
                newName, huggingFaceId, dims, pooling, normalize, maxTokens, prompt, paddingSide, output, int8Fp32);
    }

    /** Parses a merged card; names the missing or malformed key in its error. */
    public static ModelCard fromJson(JsonObject json) {
        String name = string(json, "name", null);
        if (name == null) {
            throw new InvalidInputException("model card has no [name]");
        }
        JsonObject prompts = json.has("prompts") ? json.getAsJsonObject("prompts") : new JsonObject();
        JsonObject onnx = json.has("onnx") ? json.getAsJsonObject("onnx") : new JsonObject();
        Integer dims = integer(json, "dims");
        if (dims == null) {
            throw new InvalidInputException("model card [" + name + "] has no [dims]");
        }
        PaddingSide side = Labels.parse(PaddingSide.class, "padding_side", string(json, "padding_side", "right"));
        Integer maxTokens = integer(json, "max_tokens");
        return new ModelCard(
                name,
                string(json, "hf_id", null),
                dims,
                Pooling.of(string(json, "pooling", null)),
                json.has("normalize") ? json.get("normalize").getAsBoolean() : true,
                maxTokens == null ? 512 : maxTokens,
                new Prompt(string(prompts, "query", ""), string(prompts, "passage", ""), string(prompts, "none", "")),
                side,
                string(onnx, "output", "last_hidden_state"),
                string(json, "int8_fp32", null));
    }

    /** Deep-merges {@code top} over {@code base}: objects merge key by key, any other value replaces. */
    public static JsonObject merge(JsonObject base, JsonObject top) {
        JsonObject out = base.deepCopy();
        for (var entry : top.entrySet()) {
            JsonElement existing = out.get(entry.getKey());
            if (existing != null && existing.isJsonObject() && entry.getValue().isJsonObject()) {
                out.add(
                        entry.getKey(),
                        merge(existing.getAsJsonObject(), entry.getValue().getAsJsonObject()));
            } else {
                out.add(entry.getKey(), entry.getValue().deepCopy());
            }
        }
        return out;
    }

    private static String string(JsonObject json, String key, String fallback) {
        JsonElement e = json.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsString();
    }

    private static Integer integer(JsonObject json, String key) {
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        try {
            return e.getAsInt();
        } catch (NumberFormatException | UnsupportedOperationException ex) {
            throw new InvalidInputException("model card key [" + key + "] must be an integer, got " + e);
        }
    }
}

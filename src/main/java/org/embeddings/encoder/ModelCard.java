package org.embeddings.encoder;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Everything the encoder needs to know to use a model the way its authors trained it: how to prompt each role,
 * how many tokens it reads, how its output is pooled and normalized, and which ONNX inputs and output it has.
 *
 * <p>A card is read from JSON (see {@code models/*.json}); layers of JSON (a bundled card, a folder's
 * sentence-transformers files, a folder's {@code card.json}) are merged key by key before parsing, the later
 * layer winning, so that each source can set only what it knows.
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
    List<String> inputs,
    String output
) {
    /** Lucene's default limit on vector dimensions. */
    public static final int MAX_DIMS = 4096;

    public enum PaddingSide {
        LEFT,
        RIGHT
    }

    public ModelCard {
        ModelName.check(name);
        if (dims < 1 || dims > MAX_DIMS) {
            throw new InvalidInputException("model [" + name + "]: dims must be within [1, " + MAX_DIMS + "], got " + dims);
        }
        if (maxTokens < 2) {
            throw new InvalidInputException("model [" + name + "]: max_tokens must be at least 2, got " + maxTokens);
        }
        inputs = List.copyOf(inputs);
        if (inputs.isEmpty() || inputs.contains("input_ids") == false) {
            throw new InvalidInputException("model [" + name + "]: onnx.inputs must include input_ids, got " + inputs);
        }
    }

    /** The same recipe under another name (the derived int8 form of a model keeps its base model's card). */
    public ModelCard withName(String newName) {
        return new ModelCard(newName, huggingFaceId, dims, pooling, normalize, maxTokens, prompt, paddingSide, inputs, output);
    }

    public static ModelCard parse(String json) {
        return fromJson(JsonParser.parseString(json).getAsJsonObject());
    }

    /** Parses a merged card; names the missing or malformed key in its error. */
    public static ModelCard fromJson(JsonObject json) {
        String name = string(json, "name", null);
        if (name == null) {
            throw new InvalidInputException("model card has no [name]");
        }
        JsonObject prompts = json.has("prompts") ? json.getAsJsonObject("prompts") : new JsonObject();
        JsonObject onnx = json.has("onnx") ? json.getAsJsonObject("onnx") : new JsonObject();
        List<String> inputs = new ArrayList<>();
        if (onnx.has("inputs")) {
            onnx.getAsJsonArray("inputs").forEach(e -> inputs.add(e.getAsString()));
        } else {
            inputs.addAll(List.of("input_ids", "attention_mask", "token_type_ids"));
        }
        Integer dims = integer(json, "dims");
        if (dims == null) {
            throw new InvalidInputException("model card [" + name + "] has no [dims]");
        }
        String padding = string(json, "padding_side", "right").toUpperCase(Locale.ROOT);
        PaddingSide side;
        try {
            side = PaddingSide.valueOf(padding);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("model card [" + name + "]: padding_side must be left or right, got [" + padding + "]");
        }
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
            inputs,
            string(onnx, "output", "last_hidden_state")
        );
    }

    /** Deep-merges {@code top} over {@code base}: objects merge key by key, any other value replaces. */
    public static JsonObject merge(JsonObject base, JsonObject top) {
        JsonObject out = base.deepCopy();
        for (var entry : top.entrySet()) {
            JsonElement existing = out.get(entry.getKey());
            if (existing != null && existing.isJsonObject() && entry.getValue().isJsonObject()) {
                out.add(entry.getKey(), merge(existing.getAsJsonObject(), entry.getValue().getAsJsonObject()));
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

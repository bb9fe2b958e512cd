package org.embeddings.encoder.card;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.LoadFailures;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.Pooling;

/**
 * A card layer read from the files sentence-transformers saves beside a model, so that a model folder copied from
 * Hugging Face describes itself:
 * <ul>
 *   <li>{@code modules.json}: the pipeline. A {@code Normalize} module means {@code normalize}; the {@code Pooling}
 *       module's folder (usually {@code 1_Pooling}) holds the pooling config. A module this encoder cannot run
 *       (a {@code Dense} projection, say) fails the load rather than yield vectors the model never produced.</li>
 *   <li>{@code <pooling folder>/config.json}: exactly one {@code pooling_mode_*} flag gives {@code pooling};
 *       {@code word_embedding_dimension} gives {@code dims}.</li>
 *   <li>{@code config_sentence_transformers.json}: the {@code prompts} named {@code query} and {@code passage} (or
 *       {@code document}) give those roles' prefixes; the prompt named by {@code default_prompt_name} is the one
 *       sentence-transformers applies when none is asked for, so it gives role {@code none}.</li>
 *   <li>{@code sentence_bert_config.json}: {@code max_seq_length} gives {@code max_tokens}.</li>
 * </ul>
 * Each key is set only where a file states it, so a layer over a bundled card changes only what the folder knows;
 * a folder without these files yields an empty layer.
 */
public final class SentenceTransformersConfig {
    static final String MODULES = "modules.json";
    static final String POOLING_CONFIG = "config.json";
    static final String DEFAULT_POOLING_FOLDER = "1_Pooling";
    static final String PROMPTS = "config_sentence_transformers.json";
    static final String TRANSFORMER_CONFIG = "sentence_bert_config.json";

    private static final String MODULE_PREFIX = "sentence_transformers.models.";
    /** Modules whose work this encoder does itself: the network (ONNX), pooling and normalization. */
    private static final List<String> RUNNABLE = List.of("Transformer", "Pooling", "Normalize");
    /** sentence-transformers pooling flags and the pooling each one means. */
    private static final Map<String, Pooling> POOLING_FLAGS = Map.of(
            "pooling_mode_cls_token", Pooling.CLS,
            "pooling_mode_mean_tokens", Pooling.MEAN,
            "pooling_mode_max_tokens", Pooling.MAX,
            "pooling_mode_mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN,
            "pooling_mode_lasttoken", Pooling.LAST_TOKEN);

    private SentenceTransformersConfig() {}

    /** The card layer the sentence-transformers files in {@code folder} describe; empty when there are none. */
    public static JsonObject read(Path folder) {
        try {
            return readLayer(folder);
        } catch (IllegalStateException | UnsupportedOperationException | ClassCastException e) {
            // Gson's answer to a file of the wrong shape (an object where an array belongs, and the like).
            throw new ModelLoadException(
                    "malformed sentence-transformers files in the model's folder: " + e.getMessage(), e);
        }
    }

    private static JsonObject readLayer(Path folder) {
        JsonObject layer = new JsonObject();
        String poolingFolder = DEFAULT_POOLING_FOLDER;
        JsonElement modules = readJson(folder, MODULES);
        if (modules != null) {
            boolean normalize = false;
            List<String> unsupported = new ArrayList<>();
            for (JsonElement module : modules.getAsJsonArray()) {
                String type = string(module.getAsJsonObject(), "type");
                String simple =
                        type != null && type.startsWith(MODULE_PREFIX) ? type.substring(MODULE_PREFIX.length()) : type;
                if ("Normalize".equals(simple)) {
                    normalize = true;
                } else if ("Pooling".equals(simple) && string(module.getAsJsonObject(), "path") != null) {
                    poolingFolder = string(module.getAsJsonObject(), "path");
                } else if (RUNNABLE.contains(simple) == false) {
                    unsupported.add(type);
                }
            }
            if (unsupported.isEmpty() == false) {
                throw new ModelLoadException("the model's " + MODULES + " has modules " + unsupported
                        + " that this encoder cannot run; it runs " + RUNNABLE + " only");
            }
            layer.addProperty("normalize", normalize);
        }
        readPooling(folder, poolingFolder, layer);
        readPrompts(folder, layer);
        JsonElement transformer = readJson(folder, TRANSFORMER_CONFIG);
        if (transformer != null && transformer.getAsJsonObject().has("max_seq_length")) {
            layer.add("max_tokens", transformer.getAsJsonObject().get("max_seq_length"));
        }
        return layer;
    }

    private static void readPooling(Path folder, String poolingFolder, JsonObject layer) {
        Path file = folder.resolve(poolingFolder).resolve(POOLING_CONFIG).normalize();
        if (file.startsWith(folder) == false) {
            throw new ModelLoadException(
                    "the model's " + MODULES + " names a pooling folder outside the model's folder: " + poolingFolder);
        }
        String name = folder.relativize(file).toString();
        JsonElement config = readJson(folder, name);
        if (config == null) {
            return;
        }
        JsonObject json = config.getAsJsonObject();
        List<Pooling> modes = new ArrayList<>();
        for (var flag : POOLING_FLAGS.entrySet()) {
            JsonElement on = json.get(flag.getKey());
            if (on != null && on.isJsonPrimitive() && on.getAsBoolean()) {
                modes.add(flag.getValue());
            }
        }
        // sentence-transformers concatenates several modes into one longer vector; no card can say that.
        if (modes.size() != 1) {
            throw new ModelLoadException("[" + name + "] sets "
                    + (modes.isEmpty() ? "no pooling mode this encoder knows" : "several pooling modes " + modes)
                    + "; expected exactly one of "
                    + POOLING_FLAGS.keySet().stream().sorted().toList());
        }
        // Without the prompt's tokens in the pool (INSTRUCTOR-style models) the vector is not one this encoder makes.
        JsonElement includePrompt = json.get("include_prompt");
        if (includePrompt != null && includePrompt.isJsonPrimitive() && includePrompt.getAsBoolean() == false) {
            throw new ModelLoadException(
                    "[" + name + "] sets include_prompt false; this encoder pools over the prompt's tokens too");
        }
        layer.addProperty("pooling", modes.get(0).label());
        if (json.has("word_embedding_dimension")) {
            layer.add("dims", json.get("word_embedding_dimension"));
        }
    }

    private static void readPrompts(Path folder, JsonObject layer) {
        JsonElement config = readJson(folder, PROMPTS);
        if (config == null) {
            return;
        }
        JsonObject json = config.getAsJsonObject();
        JsonObject prompts = json.has("prompts") && json.get("prompts").isJsonObject()
                ? json.getAsJsonObject("prompts")
                : new JsonObject();
        JsonObject roles = new JsonObject();
        copy(prompts, "query", roles, "query");
        copy(prompts, prompts.has("passage") ? "passage" : "document", roles, "passage");
        String defaultName = string(json, "default_prompt_name");
        if (defaultName != null) {
            if (prompts.has(defaultName) == false) {
                throw new ModelLoadException(
                        "[" + PROMPTS + "] default_prompt_name [" + defaultName + "] is not among its prompts");
            }
            copy(prompts, defaultName, roles, "none");
        }
        if (roles.size() > 0) {
            layer.add("prompts", roles);
        }
    }

    private static void copy(JsonObject from, String fromKey, JsonObject to, String toKey) {
        JsonElement value = from.get(fromKey);
        if (value != null && value.isJsonNull() == false) {
            to.addProperty(toKey, value.getAsString());
        }
    }

    private static String string(JsonObject json, String key) {
        JsonElement e = json.get(key);
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    /** The JSON file {@code name} in {@code folder}, or null when there is none. */
    private static JsonElement readJson(Path folder, String name) {
        Path file = folder.resolve(name);
        if (Files.isRegularFile(file) == false) {
            return null;
        }
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelUnavailableException("cannot read [" + name + "]: " + LoadFailures.resource(e), e);
        } catch (RuntimeException e) {
            throw new ModelLoadException("cannot read [" + name + "]: " + e.getMessage(), e);
        }
    }
}

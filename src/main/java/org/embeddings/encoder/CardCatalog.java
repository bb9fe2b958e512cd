package org.embeddings.encoder;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** The model cards shipped with the encoder ({@code models/*.json} in the source tree), looked up by model name. */
public final class CardCatalog {
    private static final String ROOT = "cards/";

    private CardCatalog() {}

    /** The bundled card for a normalized model name, as raw JSON for merging. */
    public static Optional<JsonObject> bundled(String name) {
        ModelName.check(name);
        try (InputStream in = CardCatalog.class.getResourceAsStream(ROOT + name + ".json")) {
            if (in == null) {
                return Optional.empty();
            }
            return Optional.of(JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

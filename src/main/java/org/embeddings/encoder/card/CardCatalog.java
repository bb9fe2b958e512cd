package org.embeddings.encoder.card;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.embeddings.encoder.ModelName;

/**
 * The model cards shipped with the encoder ({@code models/*.json} in the source tree), looked up by model name. The
 * build writes {@code index.txt} beside them, one name per line, because a jar's directory cannot be listed
 * portably.
 */
public final class CardCatalog {
    private static final String ROOT = "/org/embeddings/encoder/cards/";

    private CardCatalog() {}

    /** The bundled card for a normalized model name, as raw JSON for merging. */
    public static Optional<JsonObject> bundled(String name) {
        ModelName.check(name);
        try (InputStream in = CardCatalog.class.getResourceAsStream(ROOT + name + ".json")) {
            if (in == null) {
                return Optional.empty();
            }
            return Optional.of(JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                    .getAsJsonObject());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Names of all bundled cards, sorted. */
    public static List<String> names() {
        try (InputStream in = CardCatalog.class.getResourceAsStream(ROOT + "index.txt")) {
            if (in == null) {
                throw new IllegalStateException("the card index " + ROOT + "index.txt is missing from the build");
            }
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                    .lines()
                    .map(String::strip)
                    .filter(l -> l.isEmpty() == false)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

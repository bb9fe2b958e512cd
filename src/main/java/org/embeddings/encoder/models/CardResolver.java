package org.embeddings.encoder.models;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.embeddings.encoder.LoadFailures;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.card.SentenceTransformersConfig;

/**
 * Resolves the card a model runs with, from up to three layers merged key by key, each later layer winning:
 * the bundled card of that name ({@link CardCatalog}), what the model folder's sentence-transformers files say
 * ({@link SentenceTransformersConfig}), and the folder's {@code card.json}. A folder with either of the last two
 * needs no bundled card; a model with none of the three has no card and cannot run.
 *
 * <p>Resolution reads small JSON files only, never the ONNX graph, so it is cheap enough for mapping and parsing
 * paths. A malformed layer fails with a {@link ModelLoadException} naming the file (within the model's folder, never
 * its path on disk) and what is wrong with it.
 */
public final class CardResolver {
    private final ModelFolders folders;

    public CardResolver(ModelFolders folders) {
        this.folders = folders;
    }

    /**
     * The card of an installed model when {@code name} is installed, else its bundled card (so a mapping can take
     * dims from a model this node does not hold); fails for a name that is neither.
     */
    public ModelCard card(String name) {
        var folder = folders.folder(name);
        if (folder.isPresent()) {
            return installed(name, folder.get());
        }
        return CardCatalog.bundled(name)
                .map(json -> {
                    json.addProperty("name", name);
                    return ModelCard.fromJson(json);
                })
                .orElseThrow(() -> folders.unknown(name));
    }

    /** The card of the model installed in {@code folder} under {@code name}. */
    public ModelCard installed(String name, Path folder) {
        JsonObject json = ModelCard.merge(
                CardCatalog.bundled(name).orElseGet(JsonObject::new), SentenceTransformersConfig.read(folder));
        Path cardFile = folder.resolve(ModelFolders.CARD_FILE);
        if (Files.isRegularFile(cardFile)) {
            try {
                json = ModelCard.merge(
                        json,
                        JsonParser.parseString(Files.readString(cardFile, StandardCharsets.UTF_8))
                                .getAsJsonObject());
            } catch (IOException e) {
                throw new ModelUnavailableException(
                        "cannot read the " + ModelFolders.CARD_FILE + " of model [" + name + "]: "
                                + LoadFailures.resource(e),
                        e);
            } catch (RuntimeException e) {
                throw new ModelLoadException(
                        "model [" + name + "] has a malformed " + ModelFolders.CARD_FILE + ": " + e.getMessage(), e);
            }
        }
        if (json.size() == 0) {
            throw new ModelLoadException("model [" + name + "] has no card: add " + ModelFolders.CARD_FILE
                    + " to its folder with at least dims and pooling, or the model's sentence-transformers files");
        }
        json.addProperty("name", name);
        try {
            return ModelCard.fromJson(json);
        } catch (ModelLoadException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelLoadException("model [" + name + "] has a malformed card: " + e.getMessage(), e);
        }
    }
}

package org.embeddings.encoder.card;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.Pooling;
import org.embeddings.encoder.Prompt;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** A model folder laid out the way sentence-transformers saves one configures its card, under the folder's card.json. */
public class SentenceTransformersConfigTest {
    private static final String MODULES = """
        [
          {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
          {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
          {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
        ]""";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path root;

    @Before
    public void setUp() throws IOException {
        root = tmp.newFolder("models").toPath();
    }

    private Path model(String name) throws IOException {
        Path folder = Files.createDirectories(root.resolve(name));
        // The registry finds a model by its model.onnx; resolving a card never opens it.
        Files.write(folder.resolve(ModelFolders.ONNX_FILE), new byte[0]);
        return folder;
    }

    private static void write(Path folder, String file, String json) throws IOException {
        Path path = folder.resolve(file);
        Files.createDirectories(path.getParent());
        Files.writeString(path, json);
    }

    private static String poolingConfig(int dims, String mode) {
        StringBuilder json = new StringBuilder("{\"word_embedding_dimension\": " + dims);
        for (String flag : List.of("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "lasttoken")) {
            json.append(", \"pooling_mode_").append(flag).append("\": ").append(flag.equals(mode));
        }
        return json.append(", \"include_prompt\": true}").toString();
    }

    /** A complete sentence-transformers folder: CLS pooling over 384 dims, normalized, 200 tokens, three prompts. */
    private Path stModel(String name) throws IOException {
        Path folder = model(name);
        write(folder, "modules.json", MODULES);
        write(folder, "1_Pooling/config.json", poolingConfig(384, "cls_token"));
        write(folder, "config_sentence_transformers.json", """
            {"__version__": {"sentence_transformers": "3.0.1"},
             "prompts": {"query": "q: ", "document": "d: ", "sts": "s: "},
             "default_prompt_name": "sts",
             "similarity_fn_name": "cosine"}""");
        write(folder, "sentence_bert_config.json", "{\"max_seq_length\": 200, \"do_lower_case\": false}");
        return folder;
    }

    private ModelCard card(String name) {
        try (ModelRegistry registry = new ModelRegistry(List.of(root), EncoderSettings.defaults())) {
            return registry.card(name);
        }
    }

    @Test
    public void readsEachFileIntoItsCardKeys() throws IOException {
        JsonObject layer = SentenceTransformersConfig.read(stModel("st-model"));
        assertEquals("cls", layer.get("pooling").getAsString());
        assertEquals(384, layer.get("dims").getAsInt());
        assertTrue(layer.get("normalize").getAsBoolean());
        assertEquals(200, layer.get("max_tokens").getAsInt());
        JsonObject prompts = layer.getAsJsonObject("prompts");
        assertEquals("q: ", prompts.get("query").getAsString());
        assertEquals("d: ", prompts.get("passage").getAsString());
        assertEquals("s: ", prompts.get("none").getAsString());
    }

    @Test
    public void aFolderWithSentenceTransformersFilesAndNoBundledCardIsAModel() throws IOException {
        stModel("my-st-model");
        ModelCard card = card("My-ST-Model");
        assertEquals("my-st-model", card.name());
        assertEquals(Pooling.CLS, card.pooling());
        assertEquals(384, card.dims());
        assertTrue(card.normalize());
        assertEquals(200, card.maxTokens());
        assertEquals(new Prompt("q: ", "d: ", "s: "), card.prompt());
    }

    @Test
    public void cardJsonOverridesTheSentenceTransformersFilesKeyByKey() throws IOException {
        Path folder = stModel("my-st-model");
        write(
                folder,
                ModelFolders.CARD_FILE,
                "{\"max_tokens\": 100, \"prompts\": {\"query\": \"x: \"}, \"pooling\": \"mean\"}");
        ModelCard card = card("my-st-model");
        assertEquals(100, card.maxTokens());
        assertEquals(Pooling.MEAN, card.pooling());
        assertEquals(
                "what card.json does not set still comes from the folder",
                new Prompt("x: ", "d: ", "s: "),
                card.prompt());
        assertEquals(384, card.dims());
    }

    @Test
    public void theSentenceTransformersFilesOverrideTheBundledCard() throws IOException {
        Path folder = model("bge-small-en-v1.5");
        write(folder, "1_Pooling/config.json", poolingConfig(384, "mean_tokens"));
        write(folder, "sentence_bert_config.json", "{\"max_seq_length\": 128}");
        ModelCard card = card("bge-small-en-v1.5");
        assertEquals(Pooling.MEAN, card.pooling());
        assertEquals(128, card.maxTokens());
        // What the folder does not say stays as the bundled card has it.
        assertEquals(
                "Represent this sentence for searching relevant passages: ",
                card.prompt().query());
        assertEquals(ModelCard.PaddingSide.RIGHT, card.paddingSide());
        assertTrue(card.normalize());

        write(folder, ModelFolders.CARD_FILE, "{\"pooling\": \"cls\"}");
        assertEquals(Pooling.CLS, card("bge-small-en-v1.5").pooling());
    }

    @Test
    public void everyPoolingFlagMapsToItsPooling() throws IOException {
        Map<String, Pooling> flags = Map.of(
                "cls_token", Pooling.CLS,
                "mean_tokens", Pooling.MEAN,
                "max_tokens", Pooling.MAX,
                "mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN,
                "lasttoken", Pooling.LAST_TOKEN);
        for (var flag : flags.entrySet()) {
            Path folder = model("m-" + flag.getKey().replace('_', '-'));
            write(folder, "1_Pooling/config.json", poolingConfig(64, flag.getKey()));
            JsonObject layer = SentenceTransformersConfig.read(folder);
            assertEquals(
                    flag.getKey(), flag.getValue().label(), layer.get("pooling").getAsString());
            assertEquals(64, layer.get("dims").getAsInt());
        }
    }

    @Test
    public void normalizeIsFalseWhenModulesHaveNoNormalizeAndUnsetWithoutModules() throws IOException {
        Path folder = model("plain");
        write(folder, "1_Pooling/config.json", poolingConfig(8, "mean_tokens"));
        assertFalse(SentenceTransformersConfig.read(folder).has("normalize"));
        write(folder, "modules.json", """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        assertFalse(SentenceTransformersConfig.read(folder).get("normalize").getAsBoolean());
    }

    @Test
    public void thePoolingFolderIsTheOneModulesJsonNames() throws IOException {
        Path folder = model("moved");
        write(folder, "modules.json", MODULES.replace("1_Pooling", "pool"));
        write(folder, "pool/config.json", poolingConfig(16, "max_tokens"));
        write(folder, "1_Pooling/config.json", poolingConfig(32, "cls_token"));
        JsonObject layer = SentenceTransformersConfig.read(folder);
        assertEquals("max", layer.get("pooling").getAsString());
        assertEquals(16, layer.get("dims").getAsInt());
    }

    @Test
    public void withoutADefaultPromptRoleNoneIsLeftToTheCard() throws IOException {
        Path folder = model("e5-small-v2");
        write(
                folder,
                "config_sentence_transformers.json",
                "{\"prompts\": {\"query\": \"query: \", \"passage\": \"passage: \"}, \"default_prompt_name\": null}");
        JsonObject prompts = SentenceTransformersConfig.read(folder).getAsJsonObject("prompts");
        assertFalse(prompts.has("none"));
        assertEquals(new Prompt("query: ", "passage: ", ""), card("e5-small-v2").prompt());
    }

    @Test
    public void aFolderWithoutTheFilesGivesAnEmptyLayer() throws IOException {
        assertEquals(new JsonObject(), SentenceTransformersConfig.read(model("bare")));
    }

    @Test
    public void refusesWhatItCannotReproduce() throws IOException {
        Path several = model("several");
        write(
                several,
                "1_Pooling/config.json",
                "{\"word_embedding_dimension\": 8, \"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SentenceTransformersConfig.read(several));
        assertTrue(e.getMessage(), e.getMessage().contains("several pooling modes"));

        Path weighted = model("weighted");
        write(
                weighted,
                "1_Pooling/config.json",
                "{\"word_embedding_dimension\": 8, \"pooling_mode_weightedmean_tokens\": true}");
        e = assertThrows(ModelLoadException.class, () -> SentenceTransformersConfig.read(weighted));
        assertTrue(e.getMessage(), e.getMessage().contains("no pooling mode"));

        Path dense = model("dense");
        write(
                dense,
                "modules.json",
                MODULES.replace(
                        "]",
                        ",{\"idx\": 3, \"name\": \"3\", \"path\": \"3_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]"));
        e = assertThrows(ModelLoadException.class, () -> SentenceTransformersConfig.read(dense));
        assertTrue(e.getMessage(), e.getMessage().contains("sentence_transformers.models.Dense"));

        Path malformed = model("malformed");
        write(malformed, "sentence_bert_config.json", "{\"max_seq_length\": ");
        e = assertThrows(ModelLoadException.class, () -> SentenceTransformersConfig.read(malformed));
        assertTrue(e.getMessage(), e.getMessage().contains("sentence_bert_config.json"));

        Path escaping = model("escaping");
        write(escaping, "modules.json", MODULES.replace("1_Pooling", "../../etc"));
        assertThrows(ModelLoadException.class, () -> SentenceTransformersConfig.read(escaping));
    }
}

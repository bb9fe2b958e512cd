package org.embeddings.encoder.card;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.Pooling;
import org.embeddings.encoder.Prompt;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Every bundled card parses to what its model's authors publish, and model names route safely to cards. */
public class ModelCardsTest {
    private static final String BGE_QUERY = "Represent this sentence for searching relevant passages: ";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** What a model's card must say; a family shares one row shape. */
    record Expected(int dims, Pooling pooling, int maxTokens, String query, String passage, String none) {}

    private static Expected bge(int dims) {
        return new Expected(dims, Pooling.CLS, 512, BGE_QUERY, "", "");
    }

    private static Expected e5(int dims) {
        return new Expected(dims, Pooling.MEAN, 512, "query: ", "passage: ", "");
    }

    private static Expected symmetricMean(int dims, int maxTokens) {
        return new Expected(dims, Pooling.MEAN, maxTokens, "", "", "");
    }

    private static final Map<String, Expected> EXPECTED = Map.ofEntries(
            Map.entry("bge-small-en-v1.5", bge(384)),
            Map.entry("bge-small-en-v1.5-q", bge(384)),
            Map.entry("bge-base-en-v1.5", bge(768)),
            Map.entry("bge-large-en-v1.5", bge(1024)),
            Map.entry("snowflake-arctic-embed-s", bge(384)),
            Map.entry("snowflake-arctic-embed-m", bge(768)),
            Map.entry("mxbai-embed-large-v1", bge(1024)),
            Map.entry("e5-small-v2", e5(384)),
            Map.entry("e5-small-v2-q", e5(384)),
            Map.entry("e5-base-v2", e5(768)),
            Map.entry("e5-large-v2", e5(1024)),
            Map.entry("multilingual-e5-small", e5(384)),
            Map.entry("multilingual-e5-base", e5(768)),
            Map.entry("multilingual-e5-large", e5(1024)),
            Map.entry("all-minilm-l6-v2", symmetricMean(384, 256)),
            Map.entry("all-minilm-l6-v2-q", symmetricMean(384, 256)),
            Map.entry("all-minilm-l12-v2", symmetricMean(384, 128)),
            Map.entry("all-mpnet-base-v2", symmetricMean(768, 384)),
            Map.entry("gte-small", symmetricMean(384, 512)),
            Map.entry("gte-base", symmetricMean(768, 512)),
            Map.entry(
                    "nomic-embed-text-v1.5",
                    new Expected(768, Pooling.MEAN, 8192, "search_query: ", "search_document: ", "classification: ")),
            Map.entry(
                    "qwen3-embedding-0.6b",
                    new Expected(
                            1024,
                            Pooling.LAST_TOKEN,
                            8192,
                            "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:{text}",
                            "",
                            "Instruct: Retrieve semantically similar text.\nQuery:{text}")));

    private static List<String> bundledNames() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("models"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".json"))
                    .map(n -> n.substring(0, n.length() - ".json".length()))
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    @Test
    public void everyCardInModelsHasARowAndEveryRowACard() throws IOException {
        assertEquals(new TreeSet<>(EXPECTED.keySet()), new TreeSet<>(bundledNames()));
    }

    @Test
    public void everyBundledCardParsesToItsAuthorsValues() throws IOException {
        for (String name : bundledNames()) {
            JsonObject json =
                    CardCatalog.bundled(name).orElseThrow(() -> new AssertionError("no bundled card " + name));
            ModelCard card = ModelCard.fromJson(json);
            Expected want = EXPECTED.get(name);
            assertEquals(name, name, card.name());
            assertEquals(name, want.dims(), card.dims());
            assertEquals(name, want.pooling(), card.pooling());
            assertEquals(name, want.maxTokens(), card.maxTokens());
            assertEquals(name, new Prompt(want.query(), want.passage(), want.none()), card.prompt());
            assertEquals(name, "last_hidden_state", card.output());
            assertTrue(name + " normalizes", card.normalize());
            assertEquals(
                    name,
                    card.pooling() == Pooling.LAST_TOKEN ? ModelCard.PaddingSide.LEFT : ModelCard.PaddingSide.RIGHT,
                    card.paddingSide());
            // only [CLS] pooling with right padding reads position 0 alone; mean, max and last-token read others
            assertEquals(name, want.pooling() == Pooling.CLS, card.poolsFirstTokenOnly());
            JsonObject source = json.getAsJsonObject("source");
            assertTrue(
                    name + " says where model.onnx comes from",
                    source.getAsJsonObject("files").has("model.onnx"));
            assertTrue(
                    name + " says where tokenizer.json comes from",
                    source.getAsJsonObject("files").has("tokenizer.json"));
            assertTrue(name + " names its origin", source.has("maven") || source.has("huggingface"));
        }
    }

    @Test
    public void cardNamesAreHuggingFaceNamesWithoutOrganisation() {
        for (String name : EXPECTED.keySet()) {
            ModelCard card = ModelCard.fromJson(CardCatalog.bundled(name).orElseThrow());
            if (card.huggingFaceId() != null) {
                String hfName =
                        card.huggingFaceId().substring(card.huggingFaceId().indexOf('/') + 1);
                assertTrue(name + " vs " + card.huggingFaceId(), name.startsWith(hfName.toLowerCase(Locale.ROOT)));
            }
        }
    }

    @Test
    public void qwenQueriesFollowTheAuthorsTemplate() {
        ModelCard card =
                ModelCard.fromJson(CardCatalog.bundled("qwen3-embedding-0.6b").orElseThrow());
        assertEquals(
                "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:what is rope",
                card.prompt().apply(Role.QUERY, "what is rope"));
        assertEquals("RoPE rotates pairs of dims.", card.prompt().apply(Role.PASSAGE, "RoPE rotates pairs of dims."));
    }

    @Test
    public void aCardMayKeepInt8MatmulsFp32AndABadPatternIsNamed() {
        // the bundled cards need none since the per-row scales of int8 version 6 (docs/int8.md); a user's card may
        // still keep named matmuls fp32, for example each layer's FFN output projection
        for (String name : List.of("bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2")) {
            assertNull(
                    name,
                    ModelCard.fromJson(CardCatalog.bundled(name).orElseThrow()).int8Fp32());
        }
        JsonObject ffnOut = CardCatalog.bundled("e5-small-v2").orElseThrow();
        ffnOut.addProperty("int8_fp32", "layer\\.[0-9]+/output/dense");
        Pattern pattern = Pattern.compile(ModelCard.fromJson(ffnOut).int8Fp32());
        assertTrue(pattern.matcher("/encoder/layer.11/output/dense/MatMul").find());
        assertFalse(pattern.matcher("/encoder/layer.11/attention/output/dense/MatMul")
                .find());
        assertFalse(
                pattern.matcher("/encoder/layer.11/intermediate/dense/MatMul").find());
        JsonObject bad = CardCatalog.bundled("bge-small-en-v1.5").orElseThrow();
        bad.addProperty("int8_fp32", "output/(dense");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ModelCard.fromJson(bad));
        assertTrue(e.getMessage(), e.getMessage().contains("int8_fp32 is not a regular expression"));
    }

    @Test
    public void namesAreMatchedCaseInsensitively() {
        assertEquals("bge-small-en-v1.5", ModelName.normalize(" BGE-Small-EN-v1.5 "));
        assertEquals(
                CardCatalog.bundled("e5-small-v2").orElseThrow(),
                CardCatalog.bundled(ModelName.normalize("E5-Small-V2")).orElseThrow());
    }

    @Test
    public void refusesNamesThatAreNotPlainModelNames() {
        for (String bad : List.of("../x", "/etc", "a/b", "a\\b", ".hidden", "x..y", "", "  ", "a b")) {
            assertThrows("[" + bad + "]", InvalidInputException.class, () -> ModelName.normalize(bad));
            assertThrows("[" + bad + "]", InvalidInputException.class, () -> CardCatalog.bundled(bad));
        }
        assertThrows(InvalidInputException.class, () -> ModelName.normalize(null));
    }

    @Test
    public void theRegistryNeverBuildsAPathFromAnInvalidName() throws IOException {
        // A model one level above the root: "../outside" would reach it if the name became a path.
        Path root = tmp.newFolder("root").toPath();
        Path outside = tmp.newFolder("outside").toPath();
        Files.write(outside.resolve(ModelFolders.ONNX_FILE), new byte[0]);
        Files.writeString(outside.resolve(ModelFolders.CARD_FILE), "{\"dims\": 4, \"pooling\": \"mean\"}");
        try (ModelRegistry registry = new ModelRegistry(List.of(root), EncoderSettings.defaults())) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> registry.card("../outside"));
            assertTrue(e.getMessage(), e.getMessage().contains("invalid model name"));
            assertThrows(InvalidInputException.class, () -> registry.encoder("../outside"));
            assertThrows(UnknownModelException.class, () -> registry.card("outside"));
        }
    }

    @Test
    public void aModelFolderLinkedFromOutsideTheRootIsRefused() throws IOException {
        Path root = tmp.newFolder("linkroot").toPath();
        Path outside = tmp.newFolder("elsewhere").toPath();
        Files.write(outside.resolve(ModelFolders.ONNX_FILE), new byte[0]);
        Files.writeString(outside.resolve(ModelFolders.CARD_FILE), "{\"dims\": 4, \"pooling\": \"mean\"}");
        Files.createSymbolicLink(root.resolve("linked"), outside);
        try (ModelRegistry registry = new ModelRegistry(List.of(root), EncoderSettings.defaults())) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> registry.card("linked"));
            assertTrue(e.getMessage(), e.getMessage().contains("resolves outside its model directory"));
            assertThrows(InvalidInputException.class, () -> registry.encoder("linked"));
        }
    }

    @Test
    public void aLoadPastTheMemoryLimitIsRefusedBeforeAnyNativeWork() throws IOException {
        Path root = tmp.newFolder("limited").toPath();
        Path folder = Files.createDirectories(root.resolve("big"));
        Files.write(folder.resolve(ModelFolders.ONNX_FILE), new byte[4096]);
        Files.writeString(folder.resolve(ModelFolders.CARD_FILE), "{\"dims\": 4, \"pooling\": \"mean\"}");
        try (ModelRegistry registry = new ModelRegistry(List.of(root), EncoderSettings.defaults(), 1000)) {
            ModelMemoryLimitException e = assertThrows(ModelMemoryLimitException.class, () -> registry.encoder("big"));
            assertTrue(
                    e.getMessage(),
                    e.getMessage().contains("4096 bytes") && e.getMessage().contains("max_loaded_bytes [1000]"));
            assertEquals(0, registry.loadedBytes());
        }
    }
}

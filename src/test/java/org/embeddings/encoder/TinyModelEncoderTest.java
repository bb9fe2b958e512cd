package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.models.ModelState;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The whole encoder path (registry, card, DJL tokenizer, batcher, ONNX Runtime, pooling) on a model small enough to
 * compute by hand: a word-level tokenizer that adds [CLS] and [SEP], and a graph whose state for token {@code t} is
 * {@code E[id] + P[t]} (see {@link TinyOnnx}). Each vector is checked against the same arithmetic done here on the
 * tables, so padding side, position ids, batching order and pooling all have to be right.
 */
public class TinyModelEncoderTest {
    static final List<String> VOCAB = List.of(
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "away", "query",
            ":", "passage");
    static final int DIM = 4;
    public static final float[][] E = table(VOCAB.size(), 0.0);
    private static final float[][] P = table(64, 0.37);
    public static final List<String> BERT_INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
    private static final List<String> DECODER_INPUTS = List.of("input_ids", "attention_mask", "position_ids");
    /** Different lengths in an order the batcher changes, so that results must be put back in input order. */
    private static final List<String> TEXTS =
            List.of("the cat sat on the mat", "dog", "the dog ran far away", "Cat sat");

    private static final float EPS = 1e-5f;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path root;
    private ModelRegistry registry;

    @Before
    public void setUp() throws IOException {
        root = tmp.newFolder("models").toPath();
        // A budget of 16 tokens with at most 3 texts: [8, 7] and [4, 3] tokens, both batches padded.
        registry = new ModelRegistry(List.of(root), new EncoderSettings(new SessionSettings(1, false), 16, 3));
    }

    @After
    public void tearDown() {
        registry.close();
    }

    /** Distinct, sign-mixed values, so that no two rows or strategies agree by accident. */
    private static float[][] table(int rows, double phase) {
        float[][] t = new float[rows][DIM];
        for (int r = 0; r < rows; r++) {
            for (int d = 0; d < DIM; d++) {
                t[r][d] = (float) (Math.sin(phase + r * 1.3 + d * 0.7) * (1 + r % 3));
            }
        }
        return t;
    }

    public static String tokenizerJson() {
        JsonArray added = new JsonArray();
        JsonObject vocab = new JsonObject();
        for (int id = 0; id < VOCAB.size(); id++) {
            vocab.addProperty(VOCAB.get(id), id);
            if (VOCAB.get(id).startsWith("[")) {
                JsonObject token = new JsonObject();
                token.addProperty("id", id);
                token.addProperty("content", VOCAB.get(id));
                token.addProperty("single_word", false);
                token.addProperty("lstrip", false);
                token.addProperty("rstrip", false);
                token.addProperty("normalized", false);
                token.addProperty("special", true);
                added.add(token);
            }
        }
        String special = """
            {"SpecialToken": {"id": "%s", "type_id": %d}}""";
        String sequence = """
            {"Sequence": {"id": "%s", "type_id": %d}}""";
        return String.format(
                Locale.ROOT,
                """
            {
              "version": "1.0",
              "truncation": null,
              "padding": null,
              "added_tokens": %s,
              "normalizer": {"type": "Lowercase"},
              "pre_tokenizer": {"type": "Whitespace"},
              "post_processor": {
                "type": "TemplateProcessing",
                "single": [%s, %s, %s],
                "pair": [%s, %s, %s, %s, %s],
                "special_tokens": {
                  "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                  "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
                }
              },
              "decoder": null,
              "model": {"type": "WordLevel", "vocab": %s, "unk_token": "[UNK]"}
            }""",
                added,
                String.format(Locale.ROOT, special, "[CLS]", 0),
                String.format(Locale.ROOT, sequence, "A", 0),
                String.format(Locale.ROOT, special, "[SEP]", 0),
                String.format(Locale.ROOT, special, "[CLS]", 0),
                String.format(Locale.ROOT, sequence, "A", 0),
                String.format(Locale.ROOT, special, "[SEP]", 0),
                String.format(Locale.ROOT, sequence, "B", 1),
                String.format(Locale.ROOT, special, "[SEP]", 1),
                vocab);
    }

    private void install(String name, byte[] onnx, String card) throws IOException {
        Path folder = Files.createDirectories(root.resolve(name));
        Files.write(folder.resolve(ModelFolders.ONNX_FILE), onnx);
        Files.writeString(folder.resolve(ModelFolders.TOKENIZER_FILE), tokenizerJson());
        Files.writeString(folder.resolve(ModelFolders.CARD_FILE), card);
    }

    public static String card(String pooling, String paddingSide, boolean normalize, int maxTokens, String output) {
        return String.format(Locale.ROOT, """
            {"dims": %d, "pooling": "%s", "normalize": %s, "max_tokens": %d, "padding_side": "%s",
             "prompts": {"query": "query: ", "passage": "passage: {text} away"},
             "onnx": {"output": "%s"}}""", DIM, pooling, normalize, maxTokens, paddingSide, output);
    }

    public static byte[] tokenModel(List<String> inputs) {
        return TinyOnnx.model(E, P, inputs, "last_hidden_state", 3);
    }

    /** [CLS], the text's words lower-cased, [SEP]: what the tiny tokenizer makes of a text of vocabulary words. */
    private static List<Integer> ids(String text, int maxTokens) {
        List<Integer> ids = new ArrayList<>();
        ids.add(VOCAB.indexOf("[CLS]"));
        for (String word :
                text.toLowerCase(Locale.ROOT).replace(":", " : ").trim().split("\\s+")) {
            if (ids.size() == maxTokens - 1) {
                break;
            }
            assertTrue("test text uses vocabulary words only: " + word, VOCAB.contains(word));
            ids.add(VOCAB.indexOf(word));
        }
        ids.add(VOCAB.indexOf("[SEP]"));
        return ids;
    }

    /** The graph's output for one unpadded text: E[id] plus, when the graph reads positions, P[position]. */
    private static List<double[]> states(List<Integer> ids, boolean positions) {
        List<double[]> states = new ArrayList<>();
        for (int t = 0; t < ids.size(); t++) {
            double[] s = new double[DIM];
            for (int d = 0; d < DIM; d++) {
                s[d] = E[ids.get(t)][d] + (positions ? P[t][d] : 0);
            }
            states.add(s);
        }
        return states;
    }

    /** Each pooling written out again, plainly, over one text's states. */
    private static float[] expected(String pooling, List<double[]> states) {
        double[] out = new double[DIM];
        int n = states.size();
        switch (pooling) {
            case "cls" -> out = states.get(0).clone();
            case "last_token" -> out = states.get(n - 1).clone();
            case "max" -> {
                Arrays.fill(out, Double.NEGATIVE_INFINITY);
                for (double[] s : states) {
                    for (int d = 0; d < DIM; d++) {
                        out[d] = Math.max(out[d], s[d]);
                    }
                }
            }
            case "mean", "mean_sqrt_len" -> {
                for (double[] s : states) {
                    for (int d = 0; d < DIM; d++) {
                        out[d] += s[d];
                    }
                }
                double divisor = pooling.equals("mean") ? n : Math.sqrt(n);
                for (int d = 0; d < DIM; d++) {
                    out[d] /= divisor;
                }
            }
            default -> throw new AssertionError(pooling);
        }
        float[] f = new float[DIM];
        for (int d = 0; d < DIM; d++) {
            f[d] = (float) out[d];
        }
        return f;
    }

    private static float[] normalized(float[] v) {
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(norm));
        }
        return out;
    }

    @Test
    public void everyTokenPoolingThroughOnnxRuntimeUnderBothPaddingSides() throws IOException {
        for (String pooling : List.of("cls", "mean", "max", "mean_sqrt_len", "last_token")) {
            for (String side : List.of("right", "left")) {
                String name = "tiny-" + pooling + "-" + side;
                install(name, tokenModel(DECODER_INPUTS), card(pooling, side, false, 32, "last_hidden_state"));
                float[][] vectors = registry.encoder(name).encode(TEXTS, Role.NONE);
                for (int i = 0; i < TEXTS.size(); i++) {
                    float[] want = expected(pooling, states(ids(TEXTS.get(i), 32), true));
                    assertArrayEquals(name + " text " + i, want, vectors[i], EPS);
                }
            }
        }
        float[][] cls = registry.encoder("tiny-cls-right").encode(TEXTS, Role.NONE);
        float[][] mean = registry.encoder("tiny-mean-right").encode(TEXTS, Role.NONE);
        assertFalse(Arrays.equals(cls[0], mean[0]));
        // [SEP] ends every text, but at a different position in each: last_token sees where.
        float[][] last = registry.encoder("tiny-last_token-left").encode(TEXTS, Role.NONE);
        assertFalse(Arrays.equals(last[0], last[1]));
    }

    @Test
    public void nonePoolingTakesTheGraphsPooledOutput() throws IOException {
        install(
                "tiny-pooled",
                TinyOnnx.model(E, P, List.of("input_ids", "attention_mask"), "sentence_embedding", 2),
                card("none", "right", false, 32, "sentence_embedding"));
        Encoder encoder = registry.encoder("tiny-pooled");
        // The graph averages over every position, padding included, so each text runs in a batch of its own.
        for (String text : TEXTS) {
            assertArrayEquals(
                    text, expected("mean", states(ids(text, 32), false)), encoder.encode(text, Role.NONE), EPS);
        }
        float[][] sameLength = encoder.encode(List.of("cat sat", "dog ran"), Role.NONE);
        assertArrayEquals(expected("mean", states(ids("cat sat", 32), false)), sameLength[0], EPS);
        assertArrayEquals(expected("mean", states(ids("dog ran", 32), false)), sameLength[1], EPS);
    }

    @Test
    public void promptsAndNormalizationApply() throws IOException {
        install("tiny-normalized", tokenModel(BERT_INPUTS), card("mean", "right", true, 32, "last_hidden_state"));
        Encoder encoder = registry.encoder("tiny-normalized");
        float[] query = encoder.encode("the cat", Role.QUERY);
        assertArrayEquals(normalized(expected("mean", states(ids("query: the cat", 32), false))), query, EPS);
        float[] passage = encoder.encode("the cat", Role.PASSAGE);
        assertArrayEquals(normalized(expected("mean", states(ids("passage: the cat away", 32), false))), passage, EPS);
        float[] none = encoder.encode("the cat", Role.NONE);
        assertArrayEquals(normalized(expected("mean", states(ids("the cat", 32), false))), none, EPS);
        double norm = 0;
        for (float x : query) {
            norm += x * x;
        }
        assertEquals(1.0, norm, 1e-5);
    }

    @Test
    public void truncatesToTheCardsLimitEvenAboveFiveHundredTwelve() throws IOException {
        install("tiny-long", tokenModel(BERT_INPUTS), card("mean", "right", false, 1000, "last_hidden_state"));
        String text = String.join(" ", Collections.nCopies(500, "the cat sat"));
        Encoder encoder = registry.encoder("tiny-long");
        Tokens tokens = encoder.tokenize(List.of(text), Role.NONE)[0];
        assertEquals(1000, tokens.length());
        assertEquals("truncation keeps the closing [SEP]", VOCAB.indexOf("[SEP]"), tokens.ids()[999]);
        assertArrayEquals(expected("mean", states(ids(text, 1000), false)), encoder.encode(text, Role.NONE), EPS);
    }

    @Test
    public void emptyTextIsTheCallersError() throws IOException {
        install("tiny-empty", tokenModel(BERT_INPUTS), card("mean", "right", false, 32, "last_hidden_state"));
        Encoder encoder = registry.encoder("tiny-empty");
        InvalidInputException e =
                assertThrows(InvalidInputException.class, () -> encoder.encode(List.of("cat", " \t"), Role.NONE));
        assertTrue(e.getMessage(), e.getMessage().contains("[1]"));
        assertThrows(InvalidInputException.class, () -> encoder.encode("", Role.QUERY));
    }

    @Test
    public void loadFailsNamingTheOutputsTheGraphHas() throws IOException {
        install("tiny-wrong-output", tokenModel(BERT_INPUTS), card("mean", "right", false, 32, "sentence_embedding"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-wrong-output"));
        assertTrue(e.getMessage(), e.getMessage().contains("no ONNX output [sentence_embedding]"));
        assertTrue(e.getMessage(), e.getMessage().contains("[last_hidden_state]"));

        // A failed load is remembered, so a broken model fails fast, until its folder changes: the fixed folder loads.
        assertSame(e, assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-wrong-output")));
        assertEquals("failed", registry.states().get("tiny-wrong-output").label());
        Files.writeString(
                root.resolve("tiny-wrong-output").resolve(ModelFolders.CARD_FILE),
                card("mean", "right", false, 32, "last_hidden_state"));
        assertEquals(DIM, registry.encoder("tiny-wrong-output").encode("cat", Role.NONE).length);
    }

    @Test
    public void loadFailsWhenTheOutputRankDoesNotFitThePooling() throws IOException {
        install("tiny-rank", tokenModel(BERT_INPUTS), card("none", "right", false, 32, "last_hidden_state"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-rank"));
        assertTrue(e.getMessage(), e.getMessage().contains("has rank 3 but pooling [none] needs rank 2"));

        install(
                "tiny-rank-pooled",
                TinyOnnx.model(E, P, BERT_INPUTS, "last_hidden_state", 2),
                card("cls", "right", false, 32, "last_hidden_state"));
        e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-rank-pooled"));
        assertTrue(e.getMessage(), e.getMessage().contains("has rank 2 but pooling [cls] needs rank 3"));
    }

    @Test
    public void loadFailsWhenTheGraphsDimsAreNotTheCards() throws IOException {
        String fiveDims = card("mean", "right", false, 32, "last_hidden_state").replace("\"dims\": 4", "\"dims\": 5");
        install("tiny-dims", tokenModel(BERT_INPUTS), fiveDims);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-dims"));
        assertTrue(e.getMessage(), e.getMessage().contains("has 4 dims but its card says 5"));

        // Failing at load rather than at the first call keeps the bad card out of the registry: fixed, it loads.
        Files.writeString(
                root.resolve("tiny-dims").resolve(ModelFolders.CARD_FILE),
                card("mean", "right", false, 32, "last_hidden_state"));
        assertEquals(DIM, registry.encoder("tiny-dims").encode("cat", Role.NONE).length);
    }

    @Test
    public void aTruncatedModelFileIsAClientErrorNamingTheFileUntilItIsReplaced() throws IOException {
        byte[] onnx = tokenModel(BERT_INPUTS);
        install(
                "tiny-truncated",
                Arrays.copyOf(onnx, onnx.length / 2),
                card("mean", "right", false, 32, "last_hidden_state"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-truncated"));
        assertTrue("a client error (400), not a server error", e instanceof IllegalArgumentException);
        // the file by its name in the model's folder; the path on disk only in the detail, for the node's log
        assertTrue(e.getMessage(), e.getMessage().contains("[tiny-truncated]: ONNX Runtime cannot load model.onnx"));
        assertFalse(e.getMessage(), e.getMessage().contains(root.toString()));
        assertFalse(e.getMessage(), e.getMessage().contains(root.toRealPath().toString()));
        assertNull("nothing with a path travels as the cause", e.getCause());
        assertTrue(String.valueOf(e.detail()), e.detail().getMessage().contains(ModelFolders.ONNX_FILE));
        ModelState state = registry.states().get("tiny-truncated");
        assertTrue(String.valueOf(state), state instanceof ModelState.Broken broken && broken.reason() == e);
        assertSame(
                "not loaded again while the folder is unchanged",
                e,
                assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-truncated")));
        assertEquals(0, registry.loadedBytes());

        Files.write(root.resolve("tiny-truncated").resolve(ModelFolders.ONNX_FILE), onnx);
        assertEquals(DIM, registry.encoder("tiny-truncated").encode("cat", Role.NONE).length);
        assertEquals("loaded", registry.states().get("tiny-truncated").label());
        assertEquals(onnx.length, registry.loadedBytes());
    }

    @Test
    public void aMalformedCardNamesItsFile() throws IOException {
        install("tiny-bad-card", tokenModel(BERT_INPUTS), "{\"dims\": 4, \"pooling\": ");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.installedCard("tiny-bad-card"));
        assertTrue(e.getMessage(), e.getMessage().contains("card.json"));
        e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-bad-card"));
        assertTrue(e.getMessage(), e.getMessage().contains("card.json"));
        install("tiny-bad-pooling", tokenModel(BERT_INPUTS), card("median", "right", false, 32, "last_hidden_state"));
        InvalidInputException bad =
                assertThrows(InvalidInputException.class, () -> registry.installedCard("tiny-bad-pooling"));
        assertTrue(bad.getMessage(), bad.getMessage().contains("median"));
    }

    /**
     * DJL's settings are JVM-wide system properties that other plugins' DJL (ml-commons) read too: loading a model
     * must leave them as it found them.
     */
    @Test
    public void loadingAModelLeavesDjlsGlobalPropertiesAsItFoundThem() throws IOException {
        String cache = System.getProperty("ENGINE_CACHE_DIR");
        String tracking = System.getProperty("OPT_OUT_TRACKING");
        String offline = System.getProperty("offline");
        install("tiny-props", tokenModel(BERT_INPUTS), card("mean", "right", false, 32, "last_hidden_state"));
        assertEquals(DIM, registry.encoder("tiny-props").encode("cat", Role.NONE).length);
        assertEquals(cache, System.getProperty("ENGINE_CACHE_DIR"));
        assertEquals(tracking, System.getProperty("OPT_OUT_TRACKING"));
        assertEquals(offline, System.getProperty("offline"));
    }

    @Test
    public void closeClosesEveryLoadedModelOnceAndRefusesLaterLoads() throws IOException {
        install("tiny-a", tokenModel(BERT_INPUTS), card("mean", "right", false, 32, "last_hidden_state"));
        install("tiny-b", tokenModel(BERT_INPUTS), card("cls", "right", false, 32, "last_hidden_state"));
        Encoder a = registry.encoder("tiny-a");
        registry.encoder("tiny-b");
        assertEquals(List.of("tiny-a", "tiny-b"), registry.loadedNames());
        registry.close();
        registry.close();
        assertEquals(List.of(), registry.loadedNames());
        assertEquals(0, registry.loadedBytes());
        assertThrows(ModelUnavailableException.class, () -> registry.encoder("tiny-a"));
        // its native thread is shut down: the closed encoder cannot run any more
        assertThrows(RuntimeException.class, () -> a.encode("cat", Role.NONE));
    }

    @Test
    public void loadFailsNamingAnInputItCannotFeed() throws IOException {
        install(
                "tiny-pixels",
                tokenModel(List.of("input_ids", "attention_mask", "pixel_values")),
                card("mean", "right", false, 32, "last_hidden_state"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-pixels"));
        assertTrue(e.getMessage(), e.getMessage().contains("[attention_mask, input_ids, pixel_values]"));
    }
}

package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RecipeReference;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The three Maven Central models through {@link ModelRegistry} and {@link Encoder} agree with a second, plain
 * implementation of each model's published recipe written here: the model's tokenizer and ONNX graph called
 * directly, one text at a time (no padding, no batching), then CLS or masked mean pooling and L2 normalization,
 * with the prefix and token limit the model's authors give (as in ../shared/data/README.md). Skipped when the model
 * folders ({@code mvn generate-resources}, system property {@code embeddings.test.models}) are absent.
 */
public class RealModelsTest {
    private static final String BGE_QUERY = "Represent this sentence for searching relevant passages: ";
    private static final String LONG_WORDS = longText(700);
    private static final List<String> TEXTS = List.of(
            "how much protein should a female eat",
            "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per day.",
            "Tides are caused by the gravitational pull of the moon and, to a lesser degree, the sun.",
            "naïve café résumé — Unicode survives tokenization",
            LONG_WORDS);

    private static Path models;

    /** One model's recipe, stated independently of its card. */
    private record Recipe(String name, String queryPrefix, String passagePrefix, boolean cls, int maxTokens) {}

    private static final List<Recipe> RECIPES = List.of(
            new Recipe("bge-small-en-v1.5", BGE_QUERY, "", true, 512),
            new Recipe("e5-small-v2", "query: ", "passage: ", false, 512),
            new Recipe("all-minilm-l6-v2", "", "", false, 256));

    @BeforeClass
    public static void findModels() {
        models = TestModelFiles.folder(RECIPES.get(0).name()).getParent();
        System.setProperty("offline", "true");
    }

    private static String longText(int words) {
        String[] pool =
                "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches".split(" ");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : " ").append(pool[(i * 7 + i / 5) % pool.length]);
        }
        return sb.toString();
    }

    private static Path folder(String name) {
        return TestModelFiles.folder(name);
    }

    /** The recipe, plainly: tokenize one text, run the graph on it alone, pool, normalize. */
    private static float[] reference(HuggingFaceTokenizer tokenizer, OrtSession session, Recipe recipe, String text)
            throws OrtException {
        Encoding encoding = tokenizer.encode(text);
        long[] ids = encoding.getIds();
        long[] shape = {1, ids.length};
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            for (String input : session.getInputNames()) {
                long[] values = switch (input) {
                    case "input_ids" -> ids;
                    case "attention_mask" -> ones;
                    case "token_type_ids" -> new long[ids.length];
                    default -> throw new AssertionError("unexpected input " + input);
                };
                feed.put(input, OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape));
            }
            try (OrtSession.Result result = session.run(feed)) {
                float[][] states = ((float[][][])
                                result.get("last_hidden_state").orElseThrow().getValue())
                        [0];
                int dim = states[0].length;
                double[] pooled = new double[dim];
                if (recipe.cls()) {
                    for (int d = 0; d < dim; d++) {
                        pooled[d] = states[0][d];
                    }
                } else {
                    for (float[] state : states) {
                        for (int d = 0; d < dim; d++) {
                            pooled[d] += state[d] / states.length;
                        }
                    }
                }
                double norm = 0;
                for (double x : pooled) {
                    norm += x * x;
                }
                float[] out = new float[dim];
                for (int d = 0; d < dim; d++) {
                    out[d] = (float) (pooled[d] / Math.sqrt(norm));
                }
                return out;
            }
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    public void encoderMatchesAnIndependentImplementationOfEachRecipe() throws IOException, OrtException {
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            for (Recipe recipe : RECIPES) {
                Path folder = folder(recipe.name());
                Encoder encoder = registry.encoder(recipe.name());
                Map<String, String> options = Map.of(
                        "maxLength",
                        String.valueOf(recipe.maxTokens()),
                        "modelMaxLength",
                        String.valueOf(recipe.maxTokens()),
                        "truncation",
                        "true",
                        "padding",
                        "false");
                try (HuggingFaceTokenizer tokenizer =
                                HuggingFaceTokenizer.newInstance(folder.resolve("tokenizer.json"), options);
                        OrtSession session = OrtEnvironment.getEnvironment()
                                .createSession(folder.resolve("model.onnx").toString())) {
                    for (Role role : List.of(Role.QUERY, Role.PASSAGE)) {
                        String prefix = role == Role.QUERY ? recipe.queryPrefix() : recipe.passagePrefix();
                        float[][] vectors = encoder.encode(TEXTS, role);
                        for (int i = 0; i < TEXTS.size(); i++) {
                            float[] want = reference(tokenizer, session, recipe, prefix + TEXTS.get(i));
                            double cosine = RecipeReference.cosine(want, vectors[i]);
                            assertTrue(
                                    recipe.name() + " " + role + " text " + i + ": cosine " + cosine, cosine >= 0.9999);
                        }
                    }
                }
                assertEquals(
                        "the long text is cut at the recipe's limit",
                        recipe.maxTokens(),
                        encoder.tokenize(List.of(LONG_WORDS), Role.NONE)[0].length());
            }
        }
    }

    @Test
    public void aVeryLongTextIsTruncatedNotRefused() {
        String text = longText(5000);
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            for (Recipe recipe : RECIPES) {
                folder(recipe.name());
                Encoder encoder = registry.encoder(recipe.name());
                assertEquals(recipe.maxTokens(), encoder.tokenize(List.of(text), Role.PASSAGE)[0].length());
                float[] v = encoder.encode(text, Role.PASSAGE);
                assertEquals(encoder.card().dims(), v.length);
                assertEquals("unit length", 1.0, norm(v), 1e-4);
            }
        }
    }

    @Test
    public void emptyOrBlankTextIsInvalidInput() {
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            folder("bge-small-en-v1.5");
            Encoder encoder = registry.encoder("bge-small-en-v1.5");
            for (String blank : List.of("", " ", "\n\t ")) {
                assertThrows("[" + blank + "]", InvalidInputException.class, () -> encoder.encode(blank, Role.QUERY));
            }
            List<String> texts = new ArrayList<>(Collections.nCopies(3, "fine"));
            texts.set(2, "   ");
            InvalidInputException e =
                    assertThrows(InvalidInputException.class, () -> encoder.encode(texts, Role.PASSAGE));
            assertTrue(e.getMessage(), e.getMessage().contains("[2]"));
        }
    }

    private static double norm(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += (double) x * x;
        }
        return Math.sqrt(sum);
    }
}

package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A model with two native workers runs two sub-batches at once on one session and one tokenizer, and gives every
 * text the vector one worker gives it, bit for bit: documents in one job and queries from several callers at once;
 * passages cut while those queries arrive are the same windows, with vectors the same up to the rounding of another
 * padding. Run on the real bge-small-en-v1.5 in its node-built {@code -int8} form, both sides with one intra-op
 * thread, so that only the workers differ.
 */
public class WorkersTest {
    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static ModelRegistry two;
    private static ModelRegistry one;

    @BeforeClass
    public static void setUp() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        TestModelFiles.link("bge-small-en-v1.5", root);
        Path int8 = tmp.newFolder("int8").toPath();
        two = new ModelRegistry(List.of(root), settings(2), Long.MAX_VALUE, int8);
        one = new ModelRegistry(List.of(root), settings(1), Long.MAX_VALUE, int8);
    }

    private static EncoderSettings settings(int workers) {
        return new EncoderSettings(
                new SessionSettings(1, false), EncoderSettings.DEFAULT_TOKEN_BUDGET, 64, 128, 4, 0, workers);
    }

    @AfterClass
    public static void tearDown() {
        for (ModelRegistry registry : new ModelRegistry[] {two, one}) {
            if (registry != null) {
                registry.close();
            }
        }
    }

    private static void assertSame(String what, float[][] expected, float[][] actual) {
        assertEquals(what, expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(what + " " + i + " differs between one worker and two", Arrays.equals(expected[i], actual[i]));
        }
    }

    @Test
    public void documentSubBatchesRunAtOnceWithTheVectorsOfOneWorker() {
        Encoder encoder = two.encoder("bge-small-en-v1.5-int8");
        assertEquals(2, encoder.nativeThread().workers());
        List<String> texts = TestTexts.varied(96, 7);
        Tokens[] tokens = encoder.tokenize(texts, Role.PASSAGE);
        assertTrue(
                "the texts make several sub-batches",
                EncoderSettings.defaults().batcher().plan(tokens).batches() >= 4);
        float[][] atOnce = encoder.encode(texts, Role.PASSAGE);
        assertEquals("two sub-batches ran at once", 2, encoder.nativeThread().mostAtOnce());
        assertSame("document", one.encoder("bge-small-en-v1.5-int8").encode(texts, Role.PASSAGE), atOnce);
    }

    @Test
    public void passagesAndQueriesFromManyCallersAtOnceKeepTheirVectors() throws Exception {
        Encoder encoder = two.encoder("bge-small-en-v1.5-int8");
        Encoder reference = one.encoder("bge-small-en-v1.5-int8");
        List<String> queries = TestTexts.varied(40, 11).stream()
                .map(t -> t.substring(0, Math.min(t.length(), 60)))
                .toList();
        List<String> documents = TestTexts.varied(24, 13);
        Chunking chunking = Chunking.defaults(encoder.card());
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> perQuery = new ArrayList<>();
            for (String query : queries) {
                perQuery.add(callers.submit(() -> encoder.encode(List.of(query), Role.QUERY, Lane.INTERACTIVE)[0]));
            }
            Future<List<List<Passage>>> passages =
                    callers.submit(() -> encoder.encodePassages(documents, Role.PASSAGE, chunking));
            for (int i = 0; i < queries.size(); i++) {
                float[] expected = reference.encode(List.of(queries.get(i)), Role.QUERY, Lane.INTERACTIVE)[0];
                assertTrue("query " + i, Arrays.equals(expected, perQuery.get(i).get()));
            }
            List<List<Passage>> expected = reference.encodePassages(documents, Role.PASSAGE, chunking);
            List<List<Passage>> actual = passages.get();
            for (int d = 0; d < documents.size(); d++) {
                assertEquals(
                        "passages of " + d,
                        expected.get(d).size(),
                        actual.get(d).size());
                for (int p = 0; p < expected.get(d).size(); p++) {
                    Passage e = expected.get(d).get(p);
                    Passage a = actual.get(d).get(p);
                    assertEquals(e.start(), a.start());
                    assertEquals(e.end(), a.end());
                    // queries arriving cut the passages' sub-batches into slices: another padding, same vector
                    double cosine = RecipeReference.cosine(e.vector(), a.vector());
                    assertTrue("passage " + d + "/" + p + ": cosine " + cosine, cosine >= 0.999999);
                }
            }
        } finally {
            callers.shutdownNow();
        }
    }
}

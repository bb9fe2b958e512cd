package org.embeddings.encoder.models;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.EncoderStats;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.TestModelFiles;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * An int8 model's lone-query session, as a node builds it (two intra-op threads for batches, one for a query that
 * comes alone), on the real bge-small-en-v1.5: a query alone runs on it and gets the batch session's vector bit for
 * bit; two queries together run on the batch session; the fp32 model and a registry without the setting build
 * none; and the second session's bytes are reserved.
 */
public class LoneQuerySessionTest {
    private static final String INT8 = "bge-small-en-v1.5-int8";

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static Path root;
    private static ModelRegistry withLone;
    private static ModelRegistry without;

    @BeforeClass
    public static void setUp() throws Exception {
        root = tmp.newFolder("models").toPath();
        TestModelFiles.link("bge-small-en-v1.5", root);
        Path int8 = tmp.newFolder("int8").toPath();
        SessionSettings twoThreads = new SessionSettings(2, false, false);
        withLone = new ModelRegistry(List.of(root), settings(twoThreads, 1), Long.MAX_VALUE, int8);
        without = new ModelRegistry(List.of(root), settings(twoThreads, 0), Long.MAX_VALUE, int8);
    }

    private static EncoderSettings settings(SessionSettings session, int loneThreads) {
        return new EncoderSettings(
                session,
                EncoderSettings.DEFAULT_TOKEN_BUDGET,
                64,
                EncoderSettings.DEFAULT_QUERY_TOKEN_BUDGET,
                4,
                loneThreads);
    }

    @AfterClass
    public static void tearDown() {
        for (ModelRegistry r : new ModelRegistry[] {withLone, without}) {
            if (r != null) {
                r.close();
            }
        }
    }

    private static float[][] interactive(Encoder encoder, List<String> texts) throws Exception {
        CompletableFuture<float[][]> out = new CompletableFuture<>();
        encoder.encodeInteractive(Role.QUERY, new Encoder.Interactive() {
            @Override
            public List<String> take() {
                return texts;
            }

            @Override
            public void done(List<String> taken, float[][] vectors) {
                out.complete(vectors);
            }

            @Override
            public void failed(List<String> taken, Exception e) {
                out.completeExceptionally(e);
            }
        });
        return out.get(60, TimeUnit.SECONDS);
    }

    @Test
    public void aQueryAloneRunsOnTheLoneSessionWithTheBatchSessionsVector() throws Exception {
        Encoder lone = withLone.encoder(INT8);
        Encoder batches = without.encoder(INT8);
        assertTrue("the int8 form has a lone-query session", lone.hasLoneSession());
        assertFalse(batches.hasLoneSession());

        List<String> queries = TestTexts.varied(24, 7);
        EncoderStats.Stages before = lone.stats().snapshot().interactive();
        for (String q : queries) {
            float[] alone = interactive(lone, List.of(q))[0];
            float[] onBatchSession = interactive(batches, List.of(q))[0];
            assertArrayEquals(q, onBatchSession, alone, 0f);
        }
        EncoderStats.Stages after = lone.stats().snapshot().interactive();
        assertEquals(queries.size(), after.loneRuns() - before.loneRuns());
        assertEquals(0, batches.stats().snapshot().interactive().loneRuns());

        // two queries in one task are a batch: the batch session runs them, with the same vectors
        float[][] two = interactive(lone, queries.subList(0, 2));
        assertEquals(after.loneRuns(), lone.stats().snapshot().interactive().loneRuns());
        assertArrayEquals(interactive(batches, queries.subList(0, 2))[1], two[1], 0f);
    }

    @Test
    public void onlyTheInt8FormGetsOneAndItsBytesAreReserved() {
        Encoder fp32 = withLone.encoder("bge-small-en-v1.5");
        assertFalse("an fp32 model runs lone queries on its batch session", fp32.hasLoneSession());
        withLone.encoder(INT8);
        without.encoder(INT8);
        assertEquals(
                "the lone session's weights are a second copy of the int8 file's",
                2 * without.loadedBytes(INT8),
                withLone.loadedBytes(INT8));
    }

    @Test
    public void noLoneSessionWithoutFewerThreadsThanTheBatchSession() {
        assertTrue(settings(new SessionSettings(2, false, false), 1)
                .loneQuerySession()
                .isPresent());
        assertFalse(settings(new SessionSettings(1, false, false), 1)
                .loneQuerySession()
                .isPresent());
        assertFalse(settings(new SessionSettings(2, false, false), 2)
                .loneQuerySession()
                .isPresent());
        assertFalse(settings(new SessionSettings(2, true, false), 1)
                .loneQuerySession()
                .isPresent());
    }
}

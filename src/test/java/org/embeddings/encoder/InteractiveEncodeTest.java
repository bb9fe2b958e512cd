package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.models.ModelRegistry;
import org.junit.Test;

/**
 * The query path's encode ({@link Encoder#encodeInteractive}) on the real bge-small-en-v1.5: one task on the model's
 * thread gives, bit for bit, the vectors of a blocking query encode; takes its texts only when it starts; counts
 * where its time went; and hands a failure to its caller instead of losing it.
 */
public class InteractiveEncodeTest {
    private static final List<String> QUERIES =
            List.of("where do rivers begin?", "0-dimensional biomaterials show inductive properties", "a");

    /** An {@link Encoder.Interactive} that gives {@code texts} and records what came back. */
    private static final class Recorder implements Encoder.Interactive {
        final List<String> texts;
        final CompletableFuture<float[][]> vectors = new CompletableFuture<>();
        volatile String thread;

        Recorder(List<String> texts) {
            this.texts = texts;
        }

        @Override
        public List<String> take() {
            thread = Thread.currentThread().getName();
            if (texts == null) {
                throw new IllegalStateException("no texts to take");
            }
            return texts;
        }

        @Override
        public void done(List<String> taken, float[][] out) {
            assertSame(texts, taken);
            vectors.complete(out);
        }

        @Override
        public void failed(List<String> taken, Exception e) {
            vectors.completeExceptionally(e);
        }
    }

    @Test
    public void oneTaskOnTheModelsThreadGivesTheBlockingEncodesVectors() throws Exception {
        Path folder = TestModelFiles.folder("bge-small-en-v1.5");
        System.setProperty("offline", "true");
        try (ModelRegistry registry = new ModelRegistry(List.of(folder.getParent()), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder("bge-small-en-v1.5");
            float[][] blocking = encoder.encode(QUERIES, Role.QUERY, Lane.INTERACTIVE);
            EncoderStats.Stages before = encoder.stats().snapshot().interactive();

            Recorder recorder = new Recorder(QUERIES);
            encoder.encodeInteractive(Role.QUERY, recorder);
            float[][] interactive = recorder.vectors.get(30, TimeUnit.SECONDS);

            assertTrue(recorder.thread, recorder.thread.startsWith("embeddings-native["));
            assertEquals(QUERIES.size(), interactive.length);
            for (int i = 0; i < QUERIES.size(); i++) {
                assertArrayEquals(QUERIES.get(i), blocking[i], interactive[i], 0f);
            }
            EncoderStats.Stages after = encoder.stats().snapshot().interactive();
            assertEquals(1, after.encodes() - before.encodes());
            assertTrue("tokenizing took time", after.tokenizeNanos() > before.tokenizeNanos());
            assertTrue("the ONNX run took time", after.runNanos() > before.runNanos());
            assertTrue("pooling took time", after.poolNanos() > before.poolNanos());
        }
    }

    @Test
    public void nothingToTakeRunsNothingAndAFailureReachesTheCaller() throws Exception {
        Path folder = TestModelFiles.folder("bge-small-en-v1.5");
        System.setProperty("offline", "true");
        try (ModelRegistry registry = new ModelRegistry(List.of(folder.getParent()), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder("bge-small-en-v1.5");
            long runs = encoder.stats().snapshot().batches();

            Recorder empty = new Recorder(List.of());
            encoder.encodeInteractive(Role.QUERY, empty);
            // a later task on the same thread runs after the empty one: once it is done, so is the empty one
            Recorder later = new Recorder(List.of("after"));
            encoder.encodeInteractive(Role.QUERY, later);
            assertNotNull(later.vectors.get(30, TimeUnit.SECONDS));
            assertTrue("an empty take completes nothing", empty.vectors.isDone() == false);
            assertEquals(
                    "one ONNX run, the later task's",
                    runs + 1,
                    encoder.stats().snapshot().batches());

            Recorder failing = new Recorder(null);
            encoder.encodeInteractive(Role.QUERY, failing);
            Exception e = null;
            try {
                failing.vectors.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException x) {
                e = (Exception) x.getCause();
            }
            assertNotNull("the failure reached the caller", e);
            assertEquals("no texts to take", e.getMessage());
        }
    }
}

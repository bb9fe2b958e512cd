package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.SizedRuns;
import org.junit.Test;

/**
 * {@link RunMemory}: the estimate, the longest text it lets run, and the encoder refusing, on the real
 * bge-small-en-v1.5 under a bound of 20 MB (about 300 tokens), a text too long to run while the texts beside it run:
 * a document call fails with a 400 naming the text, and a query batch fails only the long query.
 */
public class RunMemoryTest {
    private static final long BOUND = 20L << 20;
    private static final String SHORT = "where do rivers begin?";
    /** About 600 tokens: over the 20 MB bound, within the model's 512-token limit after truncation. */
    private static final String LONG = "The river carries silt from the mountains down to the delta. ".repeat(50);

    @Test
    public void theEstimateGrowsWithTheSquareOfTheLengthAndLongestTextIsTheLastThatFits() {
        RunMemory memory = new RunMemory("bge-small-en-v1.5", 384, BOUND);
        // 12 heads of 32: 4 x (3 x 12 x 512^2 + 16 x 384 x 512) bytes
        assertEquals(4L * (3L * 12 * 512 * 512 + 16L * 384 * 512), memory.bytes(1, 512));
        assertEquals(2 * memory.bytes(1, 100), memory.bytes(2, 100));
        assertTrue("quadratic", memory.bytes(1, 4000) > 3.5 * memory.bytes(1, 2000));
        int longest = memory.longestText();
        assertTrue("longest " + longest, longest > 200 && longest < 400);
        assertFalse(memory.tooLong(longest));
        assertTrue(memory.tooLong(longest + 1));
        assertTrue(memory.bytes(1, longest) <= BOUND);
        assertTrue(memory.bytes(1, longest + 1) > BOUND);

        // an 8,192-token text of a 768-wide model needs gigabytes: refused under the node's default bound
        RunMemory wide = new RunMemory("nomic-embed-text-v1.5", 768, EncoderSettings.DEFAULT_MAX_RUN_BYTES);
        assertTrue(wide.bytes(1, 8192) > 4L << 30);
        assertTrue(wide.tooLong(8192));
        assertFalse(wide.tooLong(512));
        // no 512-token catalog model comes near the default: 1,024-wide at 512 tokens
        assertFalse(new RunMemory("e5-large-v2", 1024, EncoderSettings.DEFAULT_MAX_RUN_BYTES).tooLong(512));
        assertEquals(Integer.MAX_VALUE / 2, RunMemory.unbounded("m", 384).longestText());
    }

    @Test
    public void theRefusalNamesTheTextTheModelTheSettingAndWhatFits() {
        RunMemory memory = new RunMemory("bge-small-en-v1.5", 384, BOUND);
        Tokens[] texts = {tokens(20), tokens(30), tokens(500)};
        RunMemory.TextTooLongException e = memory.refusal(texts, memory.refused(texts));
        assertEquals(Set.of(2), e.positions());
        assertTrue(
                e.getMessage(),
                e.getMessage()
                        .startsWith(
                                "text [2] of 500 tokens is too long for model" + " [bge-small-en-v1.5] on this node"));
        assertTrue(e.getMessage(), e.getMessage().contains("[embeddings.onnx.max_run_memory] (20 MB)"));
        assertTrue(e.getMessage(), e.getMessage().contains("at most " + memory.longestText() + " tokens"));
        assertTrue(e.alone(2), e.alone(2).startsWith("text of 500 tokens"));
        assertNull(e.alone(0));
        RunMemory.TextTooLongException one = memory.refusal(new Tokens[] {tokens(500)}, List.of(0));
        assertEquals(e.alone(2), one.getMessage());
        assertEquals(one.getMessage(), memory.refusal(500).getMessage());
        assertTrue(e instanceof InvalidInputException);
        String windows = memory.windowsRefusal(400).getMessage();
        assertTrue(windows, windows.startsWith("passage windows of up to 400 tokens are too long for model"));
        assertTrue(windows, windows.endsWith("lower [max_tokens], or raise the setting"));
    }

    @Test
    public void aTextTooLongIsRefusedBeforeAnyRunAndAQueryBatchFailsOnlyIt() throws Exception {
        Path folder = TestModelFiles.folder("bge-small-en-v1.5");
        System.setProperty("offline", "true");
        EncoderSettings d = EncoderSettings.defaults();
        EncoderSettings bounded = new EncoderSettings(
                d.session(),
                d.tokenBudget(),
                d.maxBatch(),
                d.queryTokenBudget(),
                d.queryBurst(),
                d.loneQueryThreads(),
                d.workers(),
                BOUND);
        try (ModelRegistry unboundedModels = new ModelRegistry(List.of(folder.getParent()), d);
                ModelRegistry models = new ModelRegistry(List.of(folder.getParent()), bounded)) {
            Encoder reference = unboundedModels.encoder("bge-small-en-v1.5");
            Encoder encoder = models.encoder("bge-small-en-v1.5");
            float[] shortVector = reference.encode(SHORT, Role.QUERY);
            assertNotNull("the unbounded node runs the long text", reference.encode(LONG, Role.PASSAGE));

            long batches = encoder.stats().snapshot().batches();
            RunMemory.TextTooLongException e = assertThrows(
                    RunMemory.TextTooLongException.class,
                    () -> encoder.encode(List.of(SHORT, LONG, SHORT), Role.PASSAGE));
            assertEquals(Set.of(1), e.positions());
            assertTrue(e.getMessage(), e.getMessage().startsWith("text [1] of 512 tokens is too long"));
            assertEquals("nothing ran", batches, encoder.stats().snapshot().batches());

            // queries ride together: the long one fails alone, the others get the vectors they get alone
            List<Integer> refused = new ArrayList<>();
            CompletableFuture<float[][]> done = new CompletableFuture<>();
            encoder.encodeInteractive(Role.QUERY, new Encoder.Interactive() {
                @Override
                public List<String> take() {
                    return List.of(SHORT, LONG, SHORT);
                }

                @Override
                public void done(List<String> texts, float[][] vectors) {
                    done.complete(vectors);
                }

                @Override
                public void failed(List<String> texts, Exception failure) {
                    done.completeExceptionally(failure);
                }

                @Override
                public boolean refusedAlone(int position, RuntimeException refusal) {
                    assertTrue(refusal.getMessage(), refusal.getMessage().startsWith("text of 512 tokens"));
                    refused.add(position);
                    return true;
                }
            });
            float[][] vectors = done.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(1), refused);
            assertEquals(3, vectors.length);
            assertNull(vectors[1]);
            assertArrayEquals(shortVector, vectors[0], 0f);
            assertArrayEquals(shortVector, vectors[2], 0f);

            // a caller that does not refuse alone gets the whole encode failed with the 400
            CompletableFuture<Exception> failed = new CompletableFuture<>();
            encoder.encodeInteractive(Role.QUERY, new Encoder.Interactive() {
                @Override
                public List<String> take() {
                    return List.of(SHORT, LONG);
                }

                @Override
                public void done(List<String> texts, float[][] vectors) {
                    failed.complete(null);
                }

                @Override
                public void failed(List<String> texts, Exception failure) {
                    failed.complete(failure);
                }
            });
            Exception whole = failed.get(30, TimeUnit.SECONDS);
            assertTrue(String.valueOf(whole), whole instanceof RunMemory.TextTooLongException);
        }
    }

    @Test
    public void aRunLargeEnoughToPinTheArenaGivesItsMemoryBack() throws Exception {
        Path folder = TestModelFiles.folder("bge-small-en-v1.5");
        ModelCard card =
                ModelCard.fromJson(CardCatalog.bundled("bge-small-en-v1.5").orElseThrow());
        RunMemory estimate = RunMemory.unbounded(card.name(), card.dims());
        assertFalse(estimate.releases(5, 512));
        assertTrue(estimate.releases(8, 512));
        try (OnnxModel model =
                new OnnxModel(folder.resolve(ModelFolders.ONNX_FILE), card, new SessionSettings(1, false))) {
            SizedRuns.run(model, 1, 16);
            long base = SizedRuns.residentBytes();
            assertEquals(8, SizedRuns.run(model, 8, 512).batch());
            long left = SizedRuns.residentBytes() - base;
            assertEquals(5, SizedRuns.run(model, 5, 512).batch());
            long kept = SizedRuns.residentBytes() - base;
            // a run above the threshold shrinks the arena when it ends, and its memory goes back to the system...
            assertTrue(
                    "left after 8 x 512: " + (left >> 20) + " MB, of " + (estimate.bytes(8, 512) >> 20)
                            + " MB estimated",
                    left < estimate.bytes(8, 512) / 8);
            // ...where the arena keeps what a smaller run took (about 0.6 of the estimate, RunMemoryBench)
            assertTrue(
                    "kept after 5 x 512: " + (kept >> 20) + " MB, of " + (estimate.bytes(5, 512) >> 20)
                            + " MB estimated",
                    kept > estimate.bytes(5, 512) / 4);
        }
    }

    private static Tokens tokens(int length) {
        return new Tokens(new long[length], new long[length]);
    }
}

package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.embeddings.encoder.models.ModelRegistry;
import org.junit.Test;

/**
 * Document work yields to queries on the real bge-small-en-v1.5: with no query in the last second, a document
 * encode runs in the batcher's planned sub-batches; right after a query, the same encode runs its sub-batches in
 * slices of the query budget (more, smaller ONNX runs), and gives the same vectors.
 */
public class QuerySlicesTest {
    private static final int TOKEN_BUDGET = 2048;
    private static final int QUERY_TOKEN_BUDGET = 128;

    @Test
    public void afterAQueryDocumentSubBatchesRunInQuerySlicesWithTheSameVectors() {
        String dir = System.getProperty("embeddings.test.models");
        TestModelFiles.folder("bge-small-en-v1.5");
        System.setProperty("offline", "true");
        EncoderSettings settings =
                new EncoderSettings(SessionSettings.defaults(), TOKEN_BUDGET, 64, QUERY_TOKEN_BUDGET);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            texts.add("Document " + i + " tells of rivers and mountains in the valley. ".repeat(1 + i % 4));
        }
        try (ModelRegistry registry = new ModelRegistry(List.of(Path.of(dir)), settings)) {
            Encoder encoder = registry.encoder("bge-small-en-v1.5");
            Tokens[] tokens = encoder.tokenize(texts, Role.PASSAGE);
            int planned = settings.batcher().plan(tokens).batches();

            long before = encoder.stats().snapshot().batches();
            float[][] alone = encoder.encode(texts, Role.PASSAGE, Lane.BULK);
            assertEquals(
                    "no query came: the planned sub-batches",
                    planned,
                    encoder.stats().snapshot().batches() - before);

            encoder.encode(List.of("where are the rivers?"), Role.QUERY, Lane.INTERACTIVE);
            before = encoder.stats().snapshot().batches();
            float[][] yielding = encoder.encode(texts, Role.PASSAGE, Lane.BULK);
            long runs = encoder.stats().snapshot().batches() - before;
            long padded = 0;
            for (Tokens t : tokens) {
                padded += t.length();
            }
            assertTrue(
                    runs + " runs for " + padded + " tokens in " + planned + " sub-batches",
                    runs > planned && runs >= padded / QUERY_TOKEN_BUDGET);
            for (int i = 0; i < texts.size(); i++) {
                double cosine = 0;
                for (int d = 0; d < alone[i].length; d++) {
                    cosine += alone[i][d] * yielding[i][d];
                }
                assertTrue("text " + i + ": cosine " + cosine, cosine > 0.99999);
            }
        }
    }
}

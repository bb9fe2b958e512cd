package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.TestTexts;
import org.junit.Test;

/**
 * {@link Encoder#encodePassages} on the real e5-small-v2 (whose passage prompt must be applied once per passage):
 * the passages of several texts, encoded in one run, come back to their own text in order, each with the vector
 * that encoding its span of the text alone gives; a text that fits one window gives the vector a plain encode gives.
 */
public class PassageEncodingTest {
    @Test
    public void eachPassageHasTheVectorOfItsOwnSpan() {
        String dir = System.getProperty("embeddings.test.models");
        TestModelFiles.folder("e5-small-v2");
        System.setProperty("offline", "true");
        try (ModelRegistry registry = new ModelRegistry(List.of(Path.of(dir)), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder("e5-small-v2");
            List<String> texts = List.of(
                    TestTexts.article(21, 3, 3, 6),
                    "Tides are caused by the gravitational pull of the moon.",
                    TestTexts.article(22, 2, 5, 8));
            List<List<Passage>> passages = encoder.encodePassages(texts, Role.PASSAGE, new Chunking(96, 16));
            assertEquals(3, passages.size());
            assertTrue(passages.get(0).size() > 2 && passages.get(2).size() > 2);
            assertEquals(1, passages.get(1).size());
            for (int t = 0; t < texts.size(); t++) {
                String text = texts.get(t);
                for (Passage p : passages.get(t)) {
                    float[] alone = encoder.encode(text.substring(p.start(), p.end()), Role.PASSAGE);
                    double cosine = RecipeReference.cosine(alone, p.vector());
                    assertTrue("text " + t + " passage at " + p.start() + ": " + cosine, cosine > 0.9999);
                }
            }
            Passage whole = passages.get(1).get(0);
            assertEquals(0, whole.start());
            assertEquals(texts.get(1).length(), whole.end());
            assertTrue(RecipeReference.cosine(encoder.encode(texts.get(1), Role.PASSAGE), whole.vector()) > 0.9999);
        }
    }
}

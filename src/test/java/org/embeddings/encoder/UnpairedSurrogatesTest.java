package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.testkit.RecipeReference;
import org.junit.Test;

/**
 * {@link UnpairedSurrogates}: lone surrogates become U+FFFD one for one, pairs stay; and on the real bge-small, a long
 * text holding one is cut into passages whose spans index it (the tokenizer's native side once counted three code
 * points for it, and spans ran past the text's end), each passage with the vector of its span with U+FFFD in place.
 */
public class UnpairedSurrogatesTest {
    @Test
    public void loneSurrogatesAreReplacedOneForOne() {
        String clean = "plain text with a pair \ud83d\ude00 in it";
        assertSame(clean, UnpairedSurrogates.replace(clean));
        assertEquals("a\ufffdb", UnpairedSurrogates.replace("a\ud83db"));
        assertEquals("a\ufffdb", UnpairedSurrogates.replace("a\ude00b"));
        assertEquals("\ufffd", UnpairedSurrogates.replace("\ud83d"));
        assertEquals("x\ufffd", UnpairedSurrogates.replace("x\ude00"));
        assertEquals("\ufffd\ufffd", UnpairedSurrogates.replace("\ude00\ud83d")); // reversed: neither is a pair
        assertEquals("\ud83d\ude00\ufffd", UnpairedSurrogates.replace("\ud83d\ude00\ud83d"));
        List<String> texts = List.of("a", "b");
        assertSame(texts, UnpairedSurrogates.replace(texts));
        assertEquals(List.of("a", "\ufffd"), UnpairedSurrogates.replace(List.of("a", "\ud800")));
    }

    @Test
    public void passageSpansIndexTheOriginalText() {
        String dir = System.getProperty("embeddings.test.models");
        TestModelFiles.folder("bge-small-en-v1.5");
        System.setProperty("offline", "true");
        try (ModelRegistry registry = new ModelRegistry(List.of(Path.of(dir)), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder("bge-small-en-v1.5");
            String text = "Some words of a sentence that goes on. ".repeat(30) + "\ud83d"
                    + " More text after the lone surrogate.".repeat(30);
            List<Passage> passages = encoder.encodePassages(List.of(text), Role.PASSAGE, new Chunking(64, 8))
                    .get(0);
            assertTrue(passages.size() > 2);
            assertEquals(text.length(), passages.get(passages.size() - 1).end());
            String replaced = UnpairedSurrogates.replace(text);
            for (Passage p : passages) {
                assertTrue(p.start() >= 0 && p.end() <= text.length() && p.start() < p.end());
                float[] alone = encoder.encode(replaced.substring(p.start(), p.end()), Role.PASSAGE);
                double cosine = RecipeReference.cosine(alone, p.vector());
                assertTrue("passage at " + p.start() + ": " + cosine, cosine > 0.9999);
            }
        }
    }
}

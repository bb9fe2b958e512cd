package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.embeddings.encoder.models.ModelFolders;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * {@link ModelTokenizer#tokenize} reads a long text through a prefix (see its class notes): on bge-small-en-v1.5's
 * real tokenizer, the model input of texts far past its 512 tokens, of every shape that could fool the prefix (long
 * runs of white space, words longer than the prefix, CJK, a prompt template around the text, white space only near
 * the end), is token for token what the whole text gives.
 */
public class ReadPrefixTest {
    private static ModelTokenizer tokenizer;

    @BeforeClass
    public static void load() {
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        tokenizer = new ModelTokenizer(models.resolve("bge-small-en-v1.5").resolve(ModelFolders.TOKENIZER_FILE), 512);
    }

    @AfterClass
    public static void close() {
        tokenizer.close();
    }

    private static String words(Random random, int chars) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < chars) {
            sb.append("word").append(random.nextInt(100_000)).append(random.nextInt(7) == 0 ? ", " : " ");
        }
        return sb.toString();
    }

    @Test
    public void longTextsGetTheWholeTextsTokens() {
        Random random = new Random(42);
        List<String> texts = new ArrayList<>();
        texts.add(words(random, 512 * 1024));
        // white space runs: 512 tokens span far more than the first prefix
        texts.add(("alpha" + " ".repeat(100) + "beta\n\n\t ").repeat(2000));
        // a word longer than every prefix tried, then words: one [UNK] then the rest
        texts.add("x".repeat(40_000) + " " + words(random, 30_000));
        // no white space at all
        texts.add("y".repeat(100_000));
        // white space only near the end of the first prefix
        texts.add("z".repeat(8190) + " tail " + words(random, 20_000));
        // CJK, one token per character, and accents the normalizer strips
        texts.add("漢字かな交じり文 Café déjà vu ".repeat(2000));
        // a prompt template around the text, as an instruction model's query
        texts.add("Instruct: find it\nQuery: " + words(random, 60_000) + " (end of query)");
        // surrogate pairs at every position
        texts.add("😀 emoji 😀".repeat(10_000));
        Tokens[] prefix = tokenizer.tokenize(texts);
        Tokens[] whole = tokenizer.tokenizeWhole(texts);
        for (int i = 0; i < texts.size(); i++) {
            assertTrue("text " + i, whole[i].length() <= 512);
            assertArrayEquals("text " + i, whole[i].ids(), prefix[i].ids());
            assertArrayEquals("text " + i, whole[i].typeIds(), prefix[i].typeIds());
        }
    }

    @Test
    public void shortTextsAndTextsJustPastTheWindowAreUnchanged() {
        Random random = new Random(7);
        int window = ModelTokenizer.readWindow(512);
        List<String> texts = List.of(
                "a short query",
                words(random, window - 1),
                words(random, window + 1),
                " ".repeat(window + 10) + "late words only");
        Tokens[] prefix = tokenizer.tokenize(texts);
        Tokens[] whole = tokenizer.tokenizeWhole(texts);
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals("text " + i, whole[i].ids(), prefix[i].ids());
        }
    }

    @Test
    public void theLastWhitespaceRunIsFoundWhereItStarts() {
        assertEquals(-1, ModelTokenizer.lastWhitespaceRun("nowhitespace"));
        assertEquals(0, ModelTokenizer.lastWhitespaceRun("   leading"));
        assertEquals(1, ModelTokenizer.lastWhitespaceRun("a   b"));
        assertEquals(5, ModelTokenizer.lastWhitespaceRun("a b c\t\n"));
    }
}

package org.embeddings.encoder.passages;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.TestModelFiles;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The {@code sentences} and {@code delimiter} strategies on the real tokenizers of bge-small-en-v1.5 and e5-small-v2
 * ("passage: "): every window, prompted, fits {@code max_tokens} counted by a separate, untruncating instance of the
 * model's tokenizer and is the text between its span; windows are whole units (sentences as the JDK's
 * {@link BreakIterator} finds them, or pieces between delimiters), packed as full as the next unit allows, with the
 * asked sentence overlap; a unit longer than a window is cut into token windows inside it; windows cover the text.
 * Tokenizers only: no ONNX model is loaded.
 */
public class ChunkingStrategiesTest {
    private static Path models;
    private static ModelRegistry registry;

    @BeforeClass
    public static void findModels() {
        models = TestModelFiles.folder("e5-small-v2").getParent();
        System.setProperty("offline", "true");
        registry = new ModelRegistry(List.of(models), EncoderSettings.defaults());
    }

    @AfterClass
    public static void close() {
        if (registry != null) {
            registry.close();
        }
    }

    private static PassageCutter.Cut cut(TokenizerModel model, String text, Chunking chunking) {
        return model.cut(List.of(text), chunking).get(0);
    }

    /** The texts of the units as {@link TextUnits} cuts them, stripped, blank ones left out. */
    private static List<String> units(String text, int[] boundaries) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int b : boundaries) {
            if (text.substring(from, b).isBlank() == false) {
                out.add(text.substring(from, b).strip());
            }
            from = b;
        }
        return out;
    }

    /** Each window's text, with a check that every window fits as the model reads it and is the model's input. */
    private static List<String> windows(TokenizerModel model, String text, PassageCutter.Cut cut, int maxTokens) {
        List<String> out = new ArrayList<>();
        for (int w = 0; w < cut.starts().length; w++) {
            String window = text.substring(cut.starts()[w], cut.ends()[w]);
            int counted = model.inputTokens(window);
            assertTrue("window of " + counted + " tokens > " + maxTokens, counted <= maxTokens);
            assertArrayEquals(
                    model.independent()
                            .encode(model.card().prompt().apply(Role.PASSAGE, window))
                            .getIds(),
                    cut.tokens()[w].ids());
            out.add(window);
        }
        assertEquals(
                "starts at the text's first token",
                text.strip(),
                text.substring(cut.starts()[0]).strip());
        assertEquals(text.stripTrailing().length(), cut.ends()[cut.ends().length - 1]);
        return out;
    }

    @Test
    public void sentencesArePackedWholeWithOneSentenceOfOverlap() throws IOException {
        for (String name : List.of("bge-small-en-v1.5", "e5-small-v2")) {
            try (TokenizerModel model = TokenizerModel.of(registry, models, name)) {
                // one paragraph: sentence ends are the only structure
                String text = TestTexts.article(21, 1, 60, 60);
                List<String> sentences = units(text, TextUnits.sentences(text));
                assertEquals(60, sentences.size());
                int max = 128;
                Chunking chunking = new Chunking(new ChunkingStrategy.BySentences(1), max, 16);
                List<String> windows = windows(model, text, cut(model, text, chunking), max);
                assertTrue(windows.size() > 5);
                int next = 0; // the first sentence not yet in a window
                for (int w = 0; w < windows.size(); w++) {
                    String window = windows.get(w);
                    // a window is a run of whole sentences: find where it starts among them
                    int first = -1;
                    for (int s = Math.max(0, next - 1); s <= next && first < 0; s++) {
                        if (window.startsWith(sentences.get(s))) {
                            first = s;
                        }
                    }
                    assertTrue("window " + w + " starts a sentence: [" + window + "]", first >= 0);
                    if (w > 0) {
                        assertEquals("window " + w + " repeats the previous window's last sentence", next - 1, first);
                    }
                    int last = first;
                    StringBuilder joined = new StringBuilder(sentences.get(first));
                    while (joined.length() < window.length()) {
                        joined.append(' ').append(sentences.get(++last));
                    }
                    assertEquals("window " + w + " is whole sentences", joined.toString(), window);
                    if (last + 1 < sentences.size()) {
                        assertTrue(
                                "window " + w + " is as full as the next sentence allows",
                                model.inputTokens(window + " " + sentences.get(last + 1)) > max);
                    }
                    next = last + 1;
                }
                assertEquals(sentences.size(), next);

                // without overlap, windows follow each other sentence after sentence
                List<String> apart = windows(
                        model, text, cut(model, text, new Chunking(new ChunkingStrategy.BySentences(0), max, 16)), max);
                assertEquals(text, String.join(" ", apart));
            }
        }
    }

    @Test
    public void aSentenceLongerThanTheWindowIsCutIntoTokenWindowsInsideIt() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            String longSentence =
                    "Protein" + " binding protein".repeat(150); // a capital after the period: a new sentence
            String text = "A short opening sentence. " + longSentence + ". A short closing sentence.";
            int max = 64;
            List<String> windows = windows(
                    model, text, cut(model, text, new Chunking(new ChunkingStrategy.BySentences(1), max, 8)), max);
            assertTrue(windows.size() > 4);
            assertEquals("A short opening sentence.", windows.get(0));
            assertEquals("A short closing sentence.", windows.get(windows.size() - 1));
            for (String inside : windows.subList(1, windows.size() - 1)) {
                assertTrue("[" + inside + "]", longSentence.contains(inside.replaceAll("\\.$", "")));
            }
        }
    }

    @Test
    public void aParagraphBreakEndsASentenceWindowInItsLastHalf() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            // paragraphs of 128 to 254 tokens, no two of which fit one window: one window each, no overlap
            String text = TestTexts.article(11, 3, 8, 8);
            String[] paragraphs = text.split("\n\n");
            List<String> windows = windows(
                    model, text, cut(model, text, new Chunking(new ChunkingStrategy.BySentences(1), 256, 32)), 256);
            assertEquals(List.of(paragraphs), windows);
            // one paragraph per line: a line end after a sentence ends a sentence window in its last half too
            String lines = text.replace("\n\n", "\n");
            assertEquals(
                    List.of(lines.split("\n")),
                    windows(
                            model,
                            lines,
                            cut(model, lines, new Chunking(new ChunkingStrategy.BySentences(1), 256, 32)),
                            256));
            // and a heading without punctuation ends its unit at the blank line
            assertEquals(
                    List.of("Methods", "We measured it.", "Twice."),
                    units(
                            "Methods\n\nWe measured it. Twice.",
                            TextUnits.sentences("Methods\n\nWe measured it. Twice.")));
        }
    }

    @Test
    public void delimitedPiecesArePackedUpToTheWindowAndNeverCut() throws IOException {
        for (String name : List.of("bge-small-en-v1.5", "e5-small-v2")) {
            try (TokenizerModel model = TokenizerModel.of(registry, models, name)) {
                // sections of 1 to 3 sentences separated by "###": several fit in one window
                StringBuilder sb = new StringBuilder();
                for (int p = 0; p < 40; p++) {
                    sb.append(p == 0 ? "" : " ### ").append(TestTexts.article(100 + p, 1, 1, 3));
                }
                String text = sb.toString();
                int max = 96;
                Chunking chunking = new Chunking(new ChunkingStrategy.ByDelimiter("###"), max, 12);
                List<String> pieces = units(text, TextUnits.delimited(text, "###"));
                assertEquals(40, pieces.size());
                List<String> windows = windows(model, text, cut(model, text, chunking), max);
                assertTrue(windows.size() > 3 && windows.size() < 40);
                int p = 0;
                for (String window : windows) {
                    // a piece starts with its delimiter: a window is consecutive whole pieces
                    StringBuilder joined = new StringBuilder(pieces.get(p++));
                    while (joined.length() < window.length()) {
                        joined.append(' ').append(pieces.get(p++));
                    }
                    assertEquals(joined.toString(), window);
                    if (p < pieces.size()) {
                        assertTrue(
                                "packed as full as the next piece allows",
                                model.inputTokens(window + " " + pieces.get(p)) > max);
                    }
                }
                assertEquals("no overlap: every piece in one window", pieces.size(), p);
            }
        }
    }

    @Test
    public void blankLinesAreTheDefaultDelimiter() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "e5-small-v2")) {
            String text = TestTexts.article(3, 30, 1, 4);
            int max = 128;
            List<String> windows = windows(
                    model,
                    text,
                    cut(
                            model,
                            text,
                            new Chunking(
                                    new ChunkingStrategy.ByDelimiter(ChunkingStrategy.ByDelimiter.DEFAULT_DELIMITER),
                                    max,
                                    16)),
                    max);
            for (String window : windows) {
                assertTrue("whole paragraphs", text.contains(window));
                int at = text.indexOf(window);
                assertTrue(at == 0 || text.startsWith("\n\n", at - 2));
                assertTrue(at + window.length() == text.length() || text.startsWith("\n\n", at + window.length()));
            }
            assertFalse(windows.isEmpty());
        }
    }

    @Test
    public void sentenceUnitsAreTheJdkBreakIteratorsAndCoverTheText() {
        String text = "Dr. Smith measured 3.5 mg, i.e. a lot. Was it enough? Yes!\n\nHeading\nNext line here.";
        int[] boundaries = TextUnits.sentences(text);
        assertEquals(text.length(), boundaries[boundaries.length - 1]);
        BreakIterator jdk = BreakIterator.getSentenceInstance(Locale.ROOT);
        jdk.setText(text);
        for (int b = jdk.next(); b != BreakIterator.DONE; b = jdk.next()) {
            int at = b;
            assertTrue("JDK boundary " + b, java.util.Arrays.stream(boundaries).anyMatch(x -> x == at));
        }
        assertTrue(units(text, boundaries).contains("Heading\nNext line here."));
        assertArrayEquals(
                "a delimiter starts the piece after it", new int[] {1, 4, 7}, TextUnits.delimited("a--b--c", "--"));
    }
}

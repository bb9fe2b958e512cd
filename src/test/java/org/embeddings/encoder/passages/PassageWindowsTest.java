package org.embeddings.encoder.passages;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.TestModelFiles;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Passage windows on the real tokenizers of bge-small-en-v1.5 (no passage prompt) and e5-small-v2 ("passage: "):
 * every window, prompted, fits the window size when counted by a separate, untruncating instance of the model's
 * tokenizer; windows end on paragraph breaks or sentence ends where the text has them in a window's last part, start
 * and end on word boundaries, overlap by at most the asked tokens, cover the whole text, and a text that fits is one
 * passage spanning all of it. Tokenizers only: no ONNX model is loaded.
 */
public class PassageWindowsTest {
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

    private static List<PassageCutter.Cut> cut(TokenizerModel model, List<String> texts, int maxTokens, int overlap) {
        return model.cut(texts, new Chunking(maxTokens, overlap));
    }

    @Test
    public void everyWindowFitsWhenTokenizedAsTheModelReadsIt() throws IOException {
        for (String name : List.of("bge-small-en-v1.5", "e5-small-v2")) {
            try (TokenizerModel model = TokenizerModel.of(registry, models, name)) {
                for (int maxTokens : new int[] {64, 256, 512}) {
                    List<String> texts = List.of(
                            TestTexts.article(1, 12, 2, 9),
                            TestTexts.article(2, 3, 20, 30),
                            TestTexts.article(3, 40, 1, 3));
                    List<PassageCutter.Cut> cuts = cut(model, texts, maxTokens, maxTokens / 8);
                    for (int t = 0; t < texts.size(); t++) {
                        PassageCutter.Cut cut = cuts.get(t);
                        assertTrue(
                                name + " " + maxTokens + ": a long text gives several windows",
                                cut.starts().length > 1);
                        int full = 0;
                        for (int w = 0; w < cut.starts().length; w++) {
                            String window = texts.get(t).substring(cut.starts()[w], cut.ends()[w]);
                            int counted = model.inputTokens(window);
                            assertTrue(name + " window of " + counted + " tokens > " + maxTokens, counted <= maxTokens);
                            assertEquals(
                                    "the encoder's input is the window as counted", counted, cut.tokens()[w].length());
                            assertArrayEquals(
                                    model.independent()
                                            .encode(model.card().prompt().apply(Role.PASSAGE, window))
                                            .getIds(),
                                    cut.tokens()[w].ids());
                            if (counted
                                    > maxTokens
                                            * (1
                                                    - Math.max(
                                                            TextWindows.Ends.DEFAULT.sentence(),
                                                            TextWindows.Ends.DEFAULT.paragraph()))) {
                                full++;
                            }
                        }
                        // windows are not cut needlessly short: all but the last reach into their last part
                        assertTrue(
                                name + " " + maxTokens + ": " + full + " of " + cut.starts().length,
                                full >= cut.starts().length - 1);
                    }
                }
            }
        }
    }

    @Test
    public void windowsEndOnParagraphBreaksOrSentenceEndsAndCoverTheText() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            String text = TestTexts.article(7, 30, 1, 12);
            int overlap = 32;
            PassageCutter.Cut cut = cut(model, List.of(text), 256, overlap).get(0);
            int paragraphEnds = 0;
            for (int w = 0; w < cut.starts().length; w++) {
                int start = cut.starts()[w];
                int end = cut.ends()[w];
                assertTrue("starts on a word boundary", start == 0 || Character.isWhitespace(text.charAt(start - 1)));
                assertTrue("ends on a word boundary", end == text.length() || Character.isWhitespace(text.charAt(end)));
                if (end < text.length()) {
                    char last = text.charAt(end - 1);
                    // this text has a sentence end every 30 words at most, so every window's last half holds one
                    assertTrue(
                            "ends a sentence: [" + text.substring(Math.max(0, end - 20), end) + "]",
                            last == '.' || last == '?');
                    if (text.startsWith("\n\n", end)) {
                        paragraphEnds++;
                    }
                }
                if (w > 0) {
                    int previousEnd = cut.ends()[w - 1];
                    assertTrue(
                            "no gap between windows",
                            start <= previousEnd
                                    || text.substring(previousEnd, start).isBlank());
                    if (start < previousEnd) {
                        int shared = model.textTokens(text.substring(start, previousEnd));
                        assertTrue("overlap of " + shared + " tokens", shared <= overlap);
                        assertFalse(
                                "no overlap across a paragraph break",
                                text.substring(start, previousEnd).contains("\n\n"));
                        assertTrue(
                                "the overlap starts a sentence",
                                text.charAt(start - 2) == '.' || text.charAt(start - 2) == '?');
                    }
                    assertTrue("a window adds text", end > previousEnd);
                }
            }
            assertEquals(0, cut.starts()[0]);
            assertEquals(text.length(), cut.ends()[cut.ends().length - 1]);
            assertTrue(
                    "paragraph breaks preferred: " + paragraphEnds + " of " + cut.starts().length,
                    paragraphEnds >= cut.starts().length / 2);
        }
    }

    @Test
    public void aParagraphBreakInTheLastPartWinsOverALaterSentenceEnd() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            // 3 paragraphs of 128 to 254 tokens, no two of which fit one 256-token window: each window is one
            // paragraph (its break is the window's last paragraph break in its last half), with no overlap
            String text = TestTexts.article(11, 3, 8, 8);
            String[] paragraphs = text.split("\n\n");
            for (int p = 0; p < paragraphs.length; p++) {
                int tokens = model.textTokens(paragraphs[p]);
                assertTrue("fixture: " + tokens, tokens > 128 && tokens <= 254);
                assertTrue("fixture", p == 0 || tokens + model.textTokens(paragraphs[p - 1]) > 254);
            }
            PassageCutter.Cut cut = cut(model, List.of(text), 256, 32).get(0);
            assertEquals(paragraphs.length, cut.starts().length);
            for (int p = 0; p < paragraphs.length; p++) {
                assertEquals(paragraphs[p], text.substring(cut.starts()[p], cut.ends()[p]));
            }
        }
    }

    @Test
    public void aSentenceEndAtALineBreakWinsOverALaterSentenceEndInsideALine() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            // one paragraph per line (the same 3 paragraphs of 128 to 254 tokens): each window is one line
            String text = TestTexts.article(11, 3, 8, 8).replace("\n\n", "\n");
            String[] lines = text.split("\n");
            PassageCutter.Cut cut = cut(model, List.of(text), 256, 32).get(0);
            assertEquals(lines.length, cut.starts().length);
            for (int p = 0; p < lines.length; p++) {
                assertEquals(lines[p], text.substring(cut.starts()[p], cut.ends()[p]));
            }
            // without the rule, a window runs on into the next line up to its latest sentence end
            PassageCutter.Cut before = new PassageCutter(
                            model.tokenizer(),
                            model.card().prompt(),
                            Role.PASSAGE,
                            new Chunking(256, 32),
                            new TextWindows.Ends(0.5f, 0.5f, false))
                    .cut(List.of(text))
                    .get(0);
            assertTrue(text.substring(before.starts()[0], before.ends()[0]).contains("\n"));
        }
    }

    @Test
    public void withLeadsAWindowInsideAParagraphIsReadAfterItsFirstSentence() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "e5-small-v2")) {
            // paragraphs of one to two windows; each window inside one reads its first sentence first
            String text = TestTexts.article(31, 4, 16, 18);
            Chunking leads = new Chunking(new ChunkingStrategy.ByTokens(), 256, 32, 256, true);
            PassageCutter.Cut cut = new PassageCutter(
                            model.tokenizer(), model.card().prompt(), Role.PASSAGE, leads, TextWindows.Ends.DEFAULT)
                    .cut(List.of(text))
                    .get(0);
            int led = 0;
            for (int w = 0; w < cut.starts().length; w++) {
                String window = text.substring(cut.starts()[w], cut.ends()[w]);
                int before = text.lastIndexOf("\n\n", cut.starts()[w]);
                int paragraph = before < 0 ? 0 : before + 2;
                int paragraphEnd =
                        text.indexOf("\n\n", paragraph) < 0 ? text.length() : text.indexOf("\n\n", paragraph);
                int firstEnd = java.util.stream.IntStream.of(
                                text.indexOf(". ", paragraph), text.indexOf("? ", paragraph))
                        .filter(i -> i >= 0)
                        .min()
                        .getAsInt();
                String lead = text.substring(paragraph, firstEnd + 1);
                // a paragraph of more than two windows has no lead
                boolean inside = cut.starts()[w] > paragraph
                        && model.textTokens(text.substring(paragraph, paragraphEnd))
                                <= 2 * (256 - model.inputTokens(""));
                String read = inside ? lead + " " + window : window;
                assertArrayEquals(
                        "window " + w + (inside ? " reads its paragraph's lead first" : " starts a paragraph"),
                        model.independent()
                                .encode(model.card().prompt().apply(Role.PASSAGE, read))
                                .getIds(),
                        cut.tokens()[w].ids());
                assertTrue(cut.tokens()[w].length() <= 256);
                led += inside ? 1 : 0;
            }
            assertTrue("some windows start inside a paragraph: " + led, led > 0);
            assertEquals(text.length(), cut.ends()[cut.ends().length - 1]);
            // a paragraph longer than two windows (a text without paragraphs) has no lead to read
            String oneParagraph = TestTexts.article(32, 1, 60, 60);
            PassageCutter.Cut plain = new PassageCutter(
                            model.tokenizer(), model.card().prompt(), Role.PASSAGE, leads, TextWindows.Ends.DEFAULT)
                    .cut(List.of(oneParagraph))
                    .get(0);
            assertArrayEquals(cut(model, List.of(oneParagraph), 256, 32).get(0).starts(), plain.starts());
            for (int w = 0; w < plain.starts().length; w++) {
                assertEquals(
                        model.inputTokens(oneParagraph.substring(plain.starts()[w], plain.ends()[w])),
                        plain.tokens()[w].length());
            }
        }
    }

    @Test
    public void aTitleHeadsEveryPassageWithinTheWindowAndSpansStayInTheText() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "e5-small-v2")) {
            String title = "Tidal forces of the moon and the sun";
            String text = TestTexts.article(5, 6, 3, 8);
            List<String> texts = List.of(text, text, "Short text that fits.");
            List<PassageCutter.Cut> cuts = new PassageCutter(
                            model.tokenizer(),
                            model.card().prompt(),
                            Role.PASSAGE,
                            new Chunking(128, 16),
                            TextWindows.Ends.DEFAULT)
                    .cut(texts, java.util.Arrays.asList(title, null, title));
            PassageCutter.Cut titled = cuts.get(0);
            PassageCutter.Cut plain = cuts.get(1);
            assertTrue(titled.starts().length > 2);
            // the title's tokens take room from every window's text
            int textBudget = 128 - model.inputTokens("") - model.textTokens(title);
            for (int w = 0; w < titled.starts().length; w++) {
                String window = text.substring(titled.starts()[w], titled.ends()[w]);
                assertArrayEquals(
                        "window " + w + " is read as its title, a space, and its text",
                        model.independent()
                                .encode("passage: " + title + " " + window)
                                .getIds(),
                        titled.tokens()[w].ids());
                assertTrue(titled.tokens()[w].length() <= 128);
                assertTrue(model.textTokens(window) <= textBudget);
            }
            assertEquals(text.length(), titled.ends()[titled.ends().length - 1]);
            // a text without a title is cut as before; a short one with a title is one passage: title and text
            assertArrayEquals(cut(model, List.of(text), 128, 16).get(0).starts(), plain.starts());
            assertArrayEquals(new int[] {0}, cuts.get(2).starts());
            assertArrayEquals(
                    model.independent()
                            .encode("passage: " + title + " Short text that fits.")
                            .getIds(),
                    cuts.get(2).tokens()[0].ids());
            // a title longer than half a window is cut to its first tokens that fill that half: windows keep text
            String longTitle = TestTexts.article(6, 1, 12, 12);
            PassageCutter.Cut cut = new PassageCutter(
                            model.tokenizer(),
                            model.card().prompt(),
                            Role.PASSAGE,
                            new Chunking(64, 8),
                            TextWindows.Ends.DEFAULT)
                    .cut(List.of(text), List.of(longTitle))
                    .get(0);
            int budget = 64 - model.inputTokens("");
            for (int w = 0; w < cut.starts().length; w++) {
                assertTrue(cut.tokens()[w].length() <= 64);
                int textTokens = model.textTokens(text.substring(cut.starts()[w], cut.ends()[w]));
                int titleTokens = cut.tokens()[w].length() - model.inputTokens("") - textTokens;
                assertTrue("window " + w + ": title of " + titleTokens + " tokens", titleTokens <= budget / 2);
                assertTrue("window " + w + " holds text", textTokens > 0);
            }
            assertEquals(text.length(), cut.ends()[cut.ends().length - 1]);
        }
    }

    @Test
    public void aTextThatFitsIsOnePassageSpanningAllOfIt() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "e5-small-v2")) {
            String text = "  Tides are caused by the moon.\n\nAnd, to a lesser degree, by the sun.  ";
            PassageCutter.Cut cut = cut(model, List.of(text), 64, 8).get(0);
            assertArrayEquals(new int[] {0}, cut.starts());
            assertArrayEquals(new int[] {text.length()}, cut.ends());
            assertArrayEquals(model.independent().encode("passage: " + text).getIds(), cut.tokens()[0].ids());
            // exactly at the limit: still one window; one token more: two
            String words = "alpha ".repeat(64 - 4).trim();
            assertEquals(1, cut(model, List.of(words), 64, 8).get(0).starts().length);
            assertEquals(2, cut(model, List.of(words + " alpha"), 64, 8).get(0).starts().length);
        }
    }

    @Test
    public void textWithoutWordBoundariesIsCutBetweenTokensAndStillFits() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            // CJK characters are one token each with no whitespace between them
            String text = "漢字仮名交じり文は空白を使わない。".repeat(60);
            PassageCutter.Cut cut = cut(model, List.of(text), 64, 16).get(0);
            assertTrue(cut.starts().length > 5);
            for (int w = 0; w < cut.starts().length; w++) {
                assertTrue(model.inputTokens(text.substring(cut.starts()[w], cut.ends()[w])) <= 64);
            }
            assertEquals(text.length(), cut.ends()[cut.ends().length - 1]);
        }
    }

    @Test
    public void spansAreJavaOffsetsAlsoPastCharactersOutsideTheBasicPlane() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "bge-small-en-v1.5")) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 200; i++) {
                sb.append("Emoji 😀 number ").append(i).append(" sits in 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text. ");
            }
            String text = sb.toString().trim();
            PassageCutter.Cut cut = cut(model, List.of(text), 64, 8).get(0);
            for (int w = 0; w < cut.starts().length; w++) {
                String window = text.substring(cut.starts()[w], cut.ends()[w]);
                assertTrue(
                        "[" + window + "]",
                        window.startsWith("Emoji")
                                || window.startsWith("😀")
                                || Character.isLetterOrDigit(window.codePointAt(0)));
                assertFalse(
                        "no split surrogate pair",
                        Character.isLowSurrogate(window.charAt(0))
                                || Character.isHighSurrogate(window.charAt(window.length() - 1)));
                assertTrue(window.endsWith("."));
            }
        }
    }

    @Test
    public void withWholeTokensATextTheModelReadsWholeStaysWholeAndOnlyALongerOneIsCut() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "e5-small-v2")) {
            Chunking defaults = Chunking.defaults(model.card());
            assertEquals(
                    "by default every text longer than a window is cut", defaults.maxTokens(), defaults.wholeTokens());
            Chunking whole = Chunking.of(null, null, model.card().maxTokens(), model.card());
            assertEquals(defaults.maxTokens(), whole.maxTokens());
            assertEquals(defaults.overlapTokens(), whole.overlapTokens());
            // one text between a window and the model's limit, one past the limit
            String between = TestTexts.article(11, 4, 4, 4);
            String longer = TestTexts.article(12, 12, 4, 6);
            int betweenTokens = model.inputTokens(between);
            assertTrue(betweenTokens + " tokens", betweenTokens > defaults.maxTokens() && betweenTokens <= 512);
            assertTrue(model.inputTokens(longer) > 512);
            List<String> texts = List.of(between, longer);
            List<PassageCutter.Cut> cuts = new PassageCutter(
                            model.tokenizer(), model.card().prompt(), Role.PASSAGE, whole, TextWindows.Ends.DEFAULT)
                    .cut(texts);
            PassageCutter.Cut kept = cuts.get(0);
            assertArrayEquals(new int[] {0}, kept.starts());
            assertArrayEquals(new int[] {between.length()}, kept.ends());
            assertArrayEquals(
                    "encoded as a plain encode would",
                    model.independent()
                            .encode(model.card().prompt().apply(Role.PASSAGE, between))
                            .getIds(),
                    kept.tokens()[0].ids());
            PassageCutter.Cut cut = cuts.get(1);
            assertTrue(cut.starts().length > 2);
            for (int w = 0; w < cut.starts().length; w++) {
                assertTrue(cut.tokens()[w].length() <= whole.maxTokens());
            }
            // the defaults cut the same text between the two limits
            assertEquals(
                    2,
                    cut(model, List.of(between), defaults.maxTokens(), defaults.overlapTokens())
                            .get(0)
                            .starts()
                            .length);
            // whole_tokens between the window and the text: cut
            Chunking below = Chunking.of(null, null, betweenTokens - 1, model.card());
            assertEquals(
                    2,
                    new PassageCutter(
                                    model.tokenizer(),
                                    model.card().prompt(),
                                    Role.PASSAGE,
                                    below,
                                    TextWindows.Ends.DEFAULT)
                            .cut(List.of(between))
                            .get(0)
                            .starts()
                            .length);
            assertTrue(assertThrows(InvalidInputException.class, () -> Chunking.of(null, null, 513, model.card()))
                    .getMessage()
                    .contains("[whole_tokens] [513] exceeds the token limit [512]"));
            assertTrue(assertThrows(InvalidInputException.class, () -> Chunking.of(128, null, 100, model.card()))
                    .getMessage()
                    .contains("[whole_tokens] must be at least [max_tokens] (128)"));
        }
    }

    @Test
    public void windowSizeIsCheckedAgainstTheModelAndThePrompt() throws IOException {
        try (TokenizerModel model = TokenizerModel.of(registry, models, "all-minilm-l6-v2")) {
            InvalidInputException e =
                    assertThrows(InvalidInputException.class, () -> new Chunking(300, 10).checkFits(model.card()));
            assertTrue(
                    e.getMessage(),
                    e.getMessage().contains("[max_tokens]") && e.getMessage().contains("256"));
        }
        assertTrue(assertThrows(InvalidInputException.class, () -> new Chunking(64, 64))
                .getMessage()
                .contains("[overlap_tokens]"));
        assertTrue(assertThrows(InvalidInputException.class, () -> new Chunking(64, -1))
                .getMessage()
                .contains("[overlap_tokens]"));
        assertTrue(assertThrows(InvalidInputException.class, () -> new Chunking(0, 0))
                .getMessage()
                .contains("[max_tokens]"));
        assertEquals(
                Chunking.DEFAULT_MAX_TOKENS,
                Chunking.defaults(registry.installedCard("bge-small-en-v1.5")).maxTokens());
        assertTrue(Chunking.defaults(registry.installedCard("all-minilm-l6-v2")).maxTokens() <= 256);
    }
}

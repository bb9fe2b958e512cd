package org.embeddings.encoder.passages;

import java.text.BreakIterator;
import java.util.Arrays;
import java.util.Locale;

/**
 * The units a text is packed from, as the UTF-16 offsets where each unit ends (ascending, the last one the text's
 * length; unit {@code k} spans from the previous offset, or 0, to {@code boundaries[k]}).
 *
 * <ul>
 *   <li>{@link #sentences}: the JDK's {@link BreakIterator} sentence boundaries (terminal punctuation, abbreviations
 *       and decimal numbers as its rules know them), and every paragraph break (a blank line) besides, which ends a
 *       unit even where no sentence punctuation precedes it (a heading). A single line break does not: plain text
 *       wraps sentences over lines.
 *   <li>{@link #delimited}: the pieces between occurrences of a delimiter, each occurrence starting the piece after
 *       it: a markdown heading marker ({@code "\n## "}) stays with its section, and a whitespace delimiter
 *       ({@code "\n\n"}) is in no passage's span, since spans run from a first token to a last one.
 * </ul>
 */
public final class TextUnits {
    private TextUnits() {}

    /** Sentence ends and paragraph breaks. */
    public static int[] sentences(String text) {
        BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
        sentences.setText(text);
        Offsets out = new Offsets();
        int[] paragraphs = paragraphStarts(text);
        int p = 0;
        for (int b = sentences.next(); b != BreakIterator.DONE; b = sentences.next()) {
            while (p < paragraphs.length && paragraphs[p] < b) {
                out.add(paragraphs[p++]);
            }
            out.add(b);
        }
        while (p < paragraphs.length) {
            out.add(paragraphs[p++]);
        }
        return out.finish(text.length());
    }

    /** The pieces that each occurrence of {@code delimiter} starts. */
    public static int[] delimited(String text, String delimiter) {
        Offsets out = new Offsets();
        for (int at = text.indexOf(delimiter); at >= 0; at = text.indexOf(delimiter, at + delimiter.length())) {
            if (at > 0) {
                out.add(at);
            }
        }
        return out.finish(text.length());
    }

    /** Where the text after each blank line starts: the end of every whitespace run holding two line feeds. */
    private static int[] paragraphStarts(String text) {
        Offsets out = new Offsets();
        int i = 0;
        while (i < text.length()) {
            if (Character.isWhitespace(text.charAt(i)) == false) {
                i++;
                continue;
            }
            int newlines = 0;
            int j = i;
            for (; j < text.length() && Character.isWhitespace(text.charAt(j)); j++) {
                if (text.charAt(j) == '\n') {
                    newlines++;
                }
            }
            if (newlines >= 2 && i > 0 && j < text.length()) {
                out.add(j);
            }
            i = j;
        }
        return out.finish(-1);
    }

    /** Ascending offsets without repeats. */
    private static final class Offsets {
        private int[] values = new int[16];
        private int size;

        void add(int offset) {
            if (size > 0 && values[size - 1] >= offset) {
                return;
            }
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = offset;
        }

        /** The offsets, ending with {@code last} unless it is negative. */
        int[] finish(int last) {
            if (last >= 0) {
                add(last);
            }
            return Arrays.copyOf(values, size);
        }
    }
}

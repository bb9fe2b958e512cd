package org.embeddings.encoder.passages;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.IntUnaryOperator;

/**
 * Cuts a tokenized text into windows of at most {@code budget} tokens, on the text's own structure.
 *
 * <p>Algorithm: every gap between two consecutive tokens gets a level: a paragraph break (a blank line in the gap),
 * a line end (a sentence end followed by a line break: text with one paragraph, record or section per line), a
 * sentence end ({@link BreakIterator}'s sentence boundary, in the gap), a word boundary (whitespace in the gap), or
 * none (inside a word). A window starts at token {@code pos} and may end at gap {@code pos + budget} at the latest.
 * It ends at the latest paragraph break in its last {@code ends.paragraph()} part (a fraction of the budget), else
 * at the latest line end in that part, else at the latest sentence end in its last {@code ends.sentence()} part;
 * with none there, at the latest word boundary in the window, and only in a text with no word boundary at all (a
 * long token run) at the budget itself. The next window starts where this one ended when it ended at a paragraph
 * break or a line end (overlap would carry the previous paragraph's end into the next one); otherwise up to
 * {@code overlap} tokens earlier, at the earliest sentence start in that stretch, else the earliest word boundary,
 * never before the last paragraph break or line end. A text of at most {@code budget} tokens is one window.
 *
 * <p>Contract: windows are given in token indexes ({@code [first, end)}) and cover every token; consecutive windows
 * share at most {@code overlap} tokens; every window but the last ends on a gap with whitespace when the window holds
 * one; each window holds at least one token the previous one did not. Only structure that any text has is used:
 * blank lines, line breaks, sentence punctuation, whitespace.
 */
public final class TextWindows {
    /** Gap levels, weakest first. */
    static final byte NONE = 0, WORD = 1, SENTENCE = 2, LINE = 3, PARAGRAPH = 4;

    /**
     * Where a paragraph break, a line end or a sentence end may end a window: in its last {@code paragraph} (also
     * line ends) or {@code sentence} part, as fractions of the budget. Earlier, a window would be cut needlessly
     * short. {@code lines}: whether a sentence end at a line break counts as a line end (else as a sentence end).
     */
    public record Ends(float paragraph, float sentence, boolean lines) {
        public static final Ends DEFAULT = new Ends(0.5f, 0.5f, true);

        public Ends {
            if (paragraph <= 0 || paragraph > 1 || sentence <= 0 || sentence > 1) {
                throw new IllegalArgumentException(
                        "window ends must be fractions within (0, 1], got " + paragraph + ", " + sentence);
            }
        }
    }

    /** One window: tokens {@code [first, end)}. */
    public record Window(int first, int end) {
        public int length() {
            return end - first;
        }
    }

    private final int budget;
    private final int overlap;
    private final Ends ends;

    /**
     * @param budget  most tokens of text in a window (the model's limit less its prompt and special tokens)
     * @param overlap most tokens two consecutive windows share
     * @param ends    where in a window a paragraph break or a sentence end ends it
     */
    public TextWindows(int budget, int overlap, Ends ends) {
        if (budget < 1 || overlap < 0) {
            throw new IllegalArgumentException(
                    "budget must be positive and overlap not negative, got " + budget + ", " + overlap);
        }
        this.budget = budget;
        this.overlap = overlap;
        this.ends = ends;
    }

    /** The first gap of a window of {@code room} tokens starting at 0 that lies in its last {@code part}. */
    private static int earliestEnd(float part, int room) {
        return Math.max(1, room - (int) Math.floor(part * room));
    }

    /**
     * Cuts {@code text}, whose tokens span {@code [starts[i], ends[i])} (UTF-16 offsets, in order), into windows.
     */
    public List<Window> cut(String text, int[] starts, int[] ends) {
        return cut(text, starts, ends, pos -> budget);
    }

    /**
     * {@link #cut(String, int[], int[])} where a window starting at token {@code pos} may hold {@code room(pos)}
     * tokens (between 1 and the budget): the room a window leaves after what is read before it.
     */
    public List<Window> cut(String text, int[] starts, int[] ends, IntUnaryOperator room) {
        int n = starts.length;
        if (n <= room.applyAsInt(0)) {
            return List.of(new Window(0, n));
        }
        byte[] level = levels(text, starts, ends, this.ends.lines());
        List<Window> windows = new ArrayList<>();
        int pos = 0;
        int previousEnd = 0;
        while (true) {
            int b = Math.min(budget, room.applyAsInt(pos));
            if (n - pos <= b) {
                windows.add(new Window(pos, n));
                return windows;
            }
            int paragraphEnd = earliestEnd(this.ends.paragraph(), b);
            int sentenceEnd = earliestEnd(this.ends.sentence(), b);
            int hard = pos + b;
            int lowest = Math.max(pos + 1, previousEnd + 1);
            int end = latest(level, Math.max(lowest, pos + paragraphEnd), hard, PARAGRAPH);
            if (end < 0) {
                end = latest(level, Math.max(lowest, pos + paragraphEnd), hard, LINE);
            }
            if (end < 0) {
                end = latest(level, Math.max(lowest, pos + sentenceEnd), hard, SENTENCE);
            }
            if (end < 0) {
                end = latest(level, lowest, hard, WORD);
            }
            if (end < 0) {
                end = hard;
            }
            windows.add(new Window(pos, end));
            previousEnd = end;
            int next = nextStart(level, pos, end);
            // an overlap the next window's room cannot reach past is dropped: every window adds a token
            pos = next + Math.min(budget, room.applyAsInt(next)) > end ? next : end;
        }
    }

    /** Where the window after {@code [pos, end)} starts. */
    private int nextStart(byte[] level, int pos, int end) {
        if (overlap == 0 || level[end] >= LINE) {
            return end;
        }
        int from = Math.max(pos + 1, end - overlap);
        for (int g = end - 1; g >= from; g--) {
            if (level[g] >= LINE) {
                from = g;
                break;
            }
        }
        if (from >= end) {
            return end;
        }
        int start = earliest(level, from, end - 1, SENTENCE);
        if (start < 0) {
            start = earliest(level, from, end - 1, WORD);
        }
        return start < 0 ? from : start;
    }

    /** The latest gap in {@code [from, to]} of at least {@code min} level, or -1. */
    private static int latest(byte[] level, int from, int to, byte min) {
        for (int g = to; g >= from; g--) {
            if (level[g] >= min) {
                return g;
            }
        }
        return -1;
    }

    /** The earliest gap in {@code [from, to]} of at least {@code min} level, or -1. */
    private static int earliest(byte[] level, int from, int to, byte min) {
        for (int g = from; g <= to; g++) {
            if (level[g] >= min) {
                return g;
            }
        }
        return -1;
    }

    /**
     * {@code level[g]} for the gap before token {@code g}; {@code level[n]}, the text's end, is a paragraph break.
     * Without {@code lines}, a sentence end at a line break is a sentence end.
     */
    static byte[] levels(String text, int[] starts, int[] ends, boolean lines) {
        int n = starts.length;
        byte[] level = new byte[n + 1];
        level[n] = PARAGRAPH;
        int[] boundaries = sentenceBoundaries(text);
        int k = 0;
        for (int g = 1; g < n; g++) {
            int from = ends[g - 1];
            int to = starts[g];
            if (to <= from) {
                continue;
            }
            byte l = NONE;
            int newlines = 0;
            for (int i = from; i < to && l != PARAGRAPH; i++) {
                char c = text.charAt(i);
                if (c == '\n') {
                    l = ++newlines >= 2 ? PARAGRAPH : WORD;
                } else if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
                    l = (byte) Math.max(l, WORD);
                } else {
                    // a blank line has nothing but whitespace between its two line feeds
                    newlines = 0;
                }
            }
            while (k < boundaries.length && boundaries[k] < from) {
                k++;
            }
            if (l == WORD && k < boundaries.length && boundaries[k] <= to) {
                l = newlines == 1 && lines ? LINE : SENTENCE;
            }
            level[g] = l;
        }
        return level;
    }

    private static int[] sentenceBoundaries(String text) {
        BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
        sentences.setText(text);
        int[] out = new int[16];
        int count = 0;
        for (int b = sentences.next(); b != BreakIterator.DONE; b = sentences.next()) {
            if (count == out.length) {
                out = Arrays.copyOf(out, count * 2);
            }
            out[count++] = b;
        }
        return Arrays.copyOf(out, count);
    }
}

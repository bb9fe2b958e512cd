package org.embeddings.encoder.passages;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Packs a text's units (sentences, or pieces between delimiters; see {@link TextUnits}) into windows of at most
 * {@code budget} tokens, never cutting a unit that fits in a window.
 *
 * <p>Algorithm: each token belongs to the unit its first character lies in, so units are consecutive token ranges
 * that cover the text (a unit without tokens, such as a run of whitespace, is part of no window). A window starts at
 * a unit and takes the following units while they fit in {@code budget} tokens. When a unit after the first starts a
 * paragraph (a blank line before it) within the window's last {@code paragraphPart} of the budget, the window ends
 * before the latest such unit, else, the same way, before the latest unit that starts a line after a sentence end
 * (text with one paragraph per line), so that a window rarely joins the end of one paragraph to the start of the
 * next. The next window starts with the last {@code overlapUnits} units of this one, as many of them as take at most
 * half the budget and leave room for the next unit, and none when this window ended at a paragraph break or a line
 * end. A unit longer than
 * the budget is cut alone into token windows ({@link TextWindows}, with {@code overlapTokens} and {@code ends}),
 * and no window overlaps into or out of it.
 *
 * <p>Contract: windows are token ranges {@code [first, end)} in order; every token of the text is in a window;
 * every window holds at most {@code budget} tokens and at least one token that the previous one did not; a window
 * ends at a unit's end unless the unit is longer than the budget.
 */
final class UnitPacker {
    private final int budget;
    private final int overlapUnits;
    private final float paragraphPart;
    private final int overlapTokens;
    private final TextWindows.Ends ends;

    /**
     * @param paragraphPart the last part of a window (a fraction of the budget, 0 for none) where a paragraph break
     *                      ends it
     * @param overlapTokens most tokens shared by the token windows of a unit longer than the budget
     * @param ends          where those token windows end
     */
    UnitPacker(int budget, int overlapUnits, float paragraphPart, int overlapTokens, TextWindows.Ends ends) {
        if (budget < 1 || overlapUnits < 0 || paragraphPart < 0 || paragraphPart > 1) {
            throw new IllegalArgumentException("budget must be positive, overlap not negative and the paragraph part"
                    + " a fraction, got " + budget + ", " + overlapUnits + ", " + paragraphPart);
        }
        this.budget = budget;
        this.overlapUnits = overlapUnits;
        this.paragraphPart = paragraphPart;
        this.overlapTokens = overlapTokens;
        this.ends = ends;
    }

    /**
     * Cuts {@code text}, whose tokens span {@code [starts[i], ends[i])} (UTF-16 offsets, in order), into windows of
     * whole units; unit {@code k} ends at UTF-16 offset {@code boundaries[k]} (ascending, the last the text's length).
     */
    List<TextWindows.Window> cut(String text, int[] starts, int[] tokenEnds, int[] boundaries) {
        return cut(text, starts, tokenEnds, boundaries, pos -> budget);
    }

    /**
     * {@link #cut(String, int[], int[], int[])} where a window starting at token {@code pos} may hold
     * {@code room(pos)} tokens (between 1 and the budget).
     */
    List<TextWindows.Window> cut(String text, int[] starts, int[] tokenEnds, int[] boundaries, IntUnaryOperator room) {
        int n = starts.length;
        if (n <= room.applyAsInt(0)) {
            return List.of(new TextWindows.Window(0, n));
        }
        // unit u holds tokens [first[u], first[u + 1]); only units with at least one token are kept
        int[] first = new int[boundaries.length + 1];
        int units = 0;
        int token = 0;
        for (int boundary : boundaries) {
            if (token < n && starts[token] < boundary) {
                first[units++] = token;
                while (token < n && starts[token] < boundary) {
                    token++;
                }
            }
        }
        if (token < n) {
            first[units++] = token; // tokens past the last boundary (none when it is the text's length)
        }
        first[units] = n;
        byte[] level = TextWindows.levels(text, starts, tokenEnds, ends.lines());

        List<TextWindows.Window> windows = new ArrayList<>();
        int u = 0;
        while (u < units) {
            int b = Math.min(budget, room.applyAsInt(first[u]));
            if (first[u + 1] - first[u] > b) {
                int offset = first[u];
                int to = first[u + 1];
                List<TextWindows.Window> inside = new TextWindows(budget, Math.min(overlapTokens, budget - 1), ends)
                        .cut(
                                text,
                                slice(starts, offset, to),
                                slice(tokenEnds, offset, to),
                                pos -> room.applyAsInt(offset + pos));
                for (TextWindows.Window w : inside) {
                    windows.add(new TextWindows.Window(offset + w.first(), offset + w.end()));
                }
                u++;
                continue;
            }
            int earliestParagraphEnd = paragraphPart == 0 ? Integer.MAX_VALUE : b - (int) (paragraphPart * b);
            int v = u + 1; // exclusive: the window holds units [u, v)
            while (v < units && first[v + 1] - first[u] <= b) {
                v++;
            }
            if (v < units) {
                int p = latestStart(first, level, u, v, TextWindows.PARAGRAPH, earliestParagraphEnd);
                if (p < 0) {
                    p = latestStart(first, level, u, v, TextWindows.LINE, earliestParagraphEnd);
                }
                if (p > 0) {
                    v = p;
                }
            }
            windows.add(new TextWindows.Window(first[u], first[v]));
            if (v == units) {
                break;
            }
            u = nextStart(first, level, u, v, room);
        }
        return windows;
    }

    /**
     * The latest unit in {@code (u, v)} that starts after a gap of at least {@code min} level and at least
     * {@code earliest} tokens after unit {@code u} starts, or -1.
     */
    private static int latestStart(int[] first, byte[] level, int u, int v, byte min, int earliest) {
        for (int p = v - 1; p > u; p--) {
            if (level[first[p]] >= min && first[p] - first[u] >= earliest) {
                return p;
            }
        }
        return -1;
    }

    /** The first unit of the window after units {@code [u, v)}: up to {@code overlapUnits} of them again. */
    private int nextStart(int[] first, byte[] level, int u, int v, IntUnaryOperator room) {
        if (overlapUnits == 0 || level[first[v]] >= TextWindows.LINE) {
            return v;
        }
        int start = Math.max(u + 1, v - overlapUnits);
        while (start < v
                && (first[v + 1] - first[start] > Math.min(budget, room.applyAsInt(first[start]))
                        || first[v] - first[start] > budget / 2)) {
            start++;
        }
        for (int p = v - 1; p > start; p--) {
            if (level[first[p]] >= TextWindows.LINE) {
                return p; // never overlap back over a paragraph break or a line end
            }
        }
        return start;
    }

    private static int[] slice(int[] values, int from, int to) {
        int[] out = new int[to - from];
        System.arraycopy(values, from, out, 0, out.length);
        return out;
    }
}

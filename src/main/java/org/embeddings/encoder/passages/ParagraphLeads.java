package org.embeddings.encoder.passages;

/**
 * The lead sentence of each paragraph of a tokenized text, for the passages that start inside it: a window cut
 * from the middle of a paragraph says nothing of what the paragraph is about, and its first sentence often does (a
 * section's title on its first line, an abstract's title, a topic sentence), so such a window is read after it.
 *
 * <p>Algorithm: paragraphs run between gaps of at least line-end level ({@link TextWindows#levels}: a blank line, or
 * a sentence end at a line break); a paragraph's lead is its tokens up to its first sentence end. A window starting
 * at token {@code pos} gets the lead of its paragraph when {@code pos} lies after that lead (a window at or inside
 * it has it already), the paragraph holds more than its lead, the lead takes at most {@code most} tokens, and the
 * paragraph at most {@code longest} tokens: in a longer one (a text without paragraphs) the first sentence says
 * little about text far from it.
 */
final class ParagraphLeads {
    /** For each token position: the end (exclusive) of the lead a window starting there reads, or 0 for none. */
    private final int[] leadEnd;
    /** For each token position: the first token of that lead. */
    private final int[] leadStart;

    private ParagraphLeads(int[] leadStart, int[] leadEnd) {
        this.leadStart = leadStart;
        this.leadEnd = leadEnd;
    }

    static ParagraphLeads of(String text, int[] starts, int[] ends, boolean lines, int most, int longest) {
        int n = starts.length;
        byte[] level = TextWindows.levels(text, starts, ends, lines);
        int[] leadStart = new int[n];
        int[] leadEnd = new int[n];
        for (int p = 0; p < n; ) {
            int q = p + 1; // the paragraph is tokens [p, q)
            while (q < n && level[q] < TextWindows.LINE) {
                q++;
            }
            int e = p + 1; // its lead is tokens [p, e)
            while (e < q && level[e] < TextWindows.SENTENCE) {
                e++;
            }
            if (e < q && e - p <= most && q - p <= longest) {
                for (int pos = e; pos < q; pos++) {
                    leadStart[pos] = p;
                    leadEnd[pos] = e;
                }
            }
            p = q;
        }
        return new ParagraphLeads(leadStart, leadEnd);
    }

    /** Tokens of the lead a window starting at token {@code pos} reads, 0 for none. */
    int tokensAt(int pos) {
        return leadEnd[pos] - leadStart[pos];
    }

    /** The first token of that lead (meaningful when {@link #tokensAt} is positive). */
    int startAt(int pos) {
        return leadStart[pos];
    }

    /** The end (exclusive) of that lead. */
    int endAt(int pos) {
        return leadEnd[pos];
    }
}

package org.embeddings.encoder.passages;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.Prompt;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.Tokens;

/**
 * Cuts texts into passage windows that one model reads whole, and tokenizes them as the model will read them.
 *
 * <p>Algorithm: the role's prompt applied to an empty text, special tokens included, costs {@code overhead} tokens,
 * so a window may hold {@code chunking.maxTokens() - overhead} tokens of text, and a text of at most
 * {@code chunking.wholeTokens() - overhead} tokens stays whole. Each text is tokenized once without truncation, with
 * the character span of every token; the chunking's {@link ChunkingStrategy} cuts the token sequence of a longer
 * text; each window's
 * text (from its first token's start to its last token's end) is prompted and tokenized again, which gives the
 * model's input and proves the window fits: a text whose window does not (a tokenizer that counts a substring
 * differently from the same tokens within the whole text) is cut again with a budget smaller by the excess,
 * until every window fits (a text kept whole that does not fit is cut into windows). A text that fits one window
 * is one passage spanning the whole text, prompted and tokenized exactly as a plain encode would. Must run on the
 * model's native thread.
 *
 * <p>A text may come with a title (a document's title, or any short text that says what the document is about),
 * put before every passage of it as {@code title + " " + window} (the way BEIR and MTEB join a title and its text):
 * a window cut from the middle of a document otherwise says nothing of what it is about, and ranks documents by
 * fragments. The title's tokens count in every window's budget; a title longer than half of the text budget is cut
 * to its first tokens that fill that half, so that a window always holds text. Spans stay offsets in the text, not
 * in the title.
 *
 * <p>Without a title, with {@link Chunking#leads()}, a window that starts inside a paragraph is read after the
 * paragraph's first sentence ({@link ParagraphLeads}): {@code lead + " " + window}, within the window's tokens; the
 * spans stay the window's own.
 */
public final class PassageCutter {
    /** One text's passages: spans {@code [starts[i], ends[i])} and the model input of each. */
    public record Cut(int[] starts, int[] ends, Tokens[] tokens) {}

    private final ModelTokenizer tokenizer;
    private final Prompt prompt;
    private final Role role;
    private final Chunking chunking;
    private final TextWindows.Ends ends;

    public PassageCutter(ModelTokenizer tokenizer, Prompt prompt, Role role, Chunking chunking, TextWindows.Ends ends) {
        this.tokenizer = tokenizer;
        this.prompt = prompt;
        this.role = role;
        this.chunking = chunking;
        this.ends = ends;
    }

    public List<Cut> cut(List<String> texts) {
        return cut(texts, null);
    }

    /**
     * Cuts each text with its title ({@code titles} null, or null at a text without one) before every passage.
     */
    public List<Cut> cut(List<String> texts, List<String> titles) {
        int maxTokens = chunking.maxTokens();
        int overhead = tokenizer.tokenize(List.of(prompt.apply(role, "")))[0].length();
        int budget = maxTokens - overhead;
        if (budget < 1) {
            throw new InvalidInputException("[max_tokens] [" + maxTokens
                    + "] leaves no room for text after the model's prompt and special tokens (" + overhead
                    + " tokens)");
        }
        // One tokenizer call for every window of every text; the rare text whose windows do not fit is redone alone.
        List<int[][]> spans = new ArrayList<>(texts.size());
        List<Head> heads = new ArrayList<>(texts.size());
        List<String> inputs = new ArrayList<>();
        for (int t = 0; t < texts.size(); t++) {
            String text = texts.get(t);
            Head head = head(titles == null ? null : titles.get(t), budget);
            int[][] windows = windows(
                    text,
                    budget - head.tokens(),
                    chunking.wholeTokens() - overhead - head.tokens(),
                    head == Head.NONE && chunking.leads());
            spans.add(windows);
            heads.add(head);
            for (int w = 0; w < windows[0].length; w++) {
                inputs.add(input(head, text, windows, w));
            }
        }
        Tokens[] tokens = tokenizer.tokenizeWithin(inputs, chunking.wholeTokens());
        List<Cut> cuts = new ArrayList<>(texts.size());
        int at = 0;
        for (int t = 0; t < texts.size(); t++) {
            int[][] windows = spans.get(t);
            Head head = heads.get(t);
            int count = windows[0].length;
            Tokens[] own = Arrays.copyOfRange(tokens, at, at + count);
            at += count;
            int textBudget = budget - head.tokens();
            while (fits(own) == false) {
                textBudget -= Math.max(1, textBudget / 16);
                if (textBudget < 1) {
                    throw new IllegalStateException(
                            "cannot cut text [" + t + "] into windows of " + maxTokens + " tokens");
                }
                windows = windows(texts.get(t), textBudget, textBudget, head == Head.NONE && chunking.leads());
                List<String> redo = new ArrayList<>(windows[0].length);
                for (int w = 0; w < windows[0].length; w++) {
                    redo.add(input(head, texts.get(t), windows, w));
                }
                own = tokenizer.tokenizeWithin(redo, maxTokens);
            }
            cuts.add(new Cut(windows[0], windows[1], own));
        }
        return cuts;
    }

    /** What goes before every window of a text, and the tokens of text it takes from each window. */
    private record Head(String text, int tokens) {
        static final Head NONE = new Head("", 0);
    }

    /**
     * The head of a text with {@code title}: none without a title, else the title (cut to the tokens that fill half
     * of {@code budget}) and a space.
     */
    private Head head(String title, int budget) {
        if (title == null || title.isBlank()) {
            return Head.NONE;
        }
        String stripped = title.strip();
        ModelTokenizer.Spans spans = tokenizer.spans(stripped);
        int most = Math.max(1, budget / 2);
        if (spans.starts().length > most) {
            // counted again: a cut inside a word may tokenize differently on its own
            String cut = stripped.substring(0, spans.ends()[most - 1]);
            return new Head(cut + " ", tokenizer.spans(cut).starts().length);
        }
        return new Head(stripped + " ", spans.starts().length);
    }

    /** Whether a text kept whole fits {@code wholeTokens}, and each window of a cut text {@code maxTokens}. */
    private boolean fits(Tokens[] tokens) {
        int limit = tokens.length == 1 ? chunking.wholeTokens() : chunking.maxTokens();
        for (Tokens t : tokens) {
            if (t == null || t.length() > limit) {
                return false;
            }
        }
        return true;
    }

    /**
     * The prompted text of window {@code w}, after the text's head; a text of one window is encoded whole, as a plain
     * encode would.
     */
    private String input(Head head, String text, int[][] windows, int w) {
        boolean whole = windows[0].length == 1 && windows[0][0] == 0 && windows[1][0] == text.length();
        String lead = windows[2][w] < 0 ? "" : text.substring(windows[2][w], windows[3][w]) + " ";
        return prompt.apply(role, head.text() + lead + (whole ? text : text.substring(windows[0][w], windows[1][w])));
    }

    /**
     * Character spans of the windows of {@code text} and of the lead each reads first: {@code {starts, ends,
     * leadStarts, leadEnds}}, a lead -1 for none; one window for a text of at most {@code wholeBudget} tokens
     * ({@code wholeBudget >= budget}, so a longer text gives the strategy at least two). With {@code leads}, a window
     * inside a paragraph reads the paragraph's lead sentence first ({@link ParagraphLeads}, at most a quarter of
     * the budget, in paragraphs of at most two windows), and holds that many tokens of text less.
     */
    private int[][] windows(String text, int budget, int wholeBudget, boolean leads) {
        ModelTokenizer.Spans spans = tokenizer.spans(text);
        if (spans.starts().length <= wholeBudget) {
            return new int[][] {{0}, {text.length()}, {-1}, {-1}};
        }
        ParagraphLeads lead = leads
                ? ParagraphLeads.of(text, spans.starts(), spans.ends(), ends.lines(), budget / 4, 2 * budget)
                : null;
        IntUnaryOperator room = lead == null ? pos -> budget : pos -> budget - lead.tokensAt(pos);
        List<TextWindows.Window> windows = chunking.strategy()
                .cut(
                        text,
                        spans.starts(),
                        spans.ends(),
                        budget,
                        room,
                        Math.min(chunking.overlapTokens(), budget - 1),
                        ends);
        int[][] out = new int[4][windows.size()];
        for (int w = 0; w < windows.size(); w++) {
            int first = windows.get(w).first();
            out[0][w] = spans.starts()[first];
            out[1][w] = spans.ends()[windows.get(w).end() - 1];
            boolean read = lead != null && lead.tokensAt(first) > 0;
            out[2][w] = read ? spans.starts()[lead.startAt(first)] : -1;
            out[3][w] = read ? spans.ends()[lead.endAt(first) - 1] : -1;
        }
        return out;
    }
}

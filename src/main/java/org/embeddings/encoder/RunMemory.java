package org.embeddings.encoder;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The working memory ONNX Runtime needs for one run of a transformer encoder, and the bound a node puts on it.
 *
 * <p>A run of {@code batch} texts padded to {@code length} tokens holds, besides the weights, the attention scores of
 * every head ({@code batch x heads x length x length} floats, alive two to three times over: scores, masked scores,
 * probabilities) and the per-token activations ({@code batch x length x} a few times the hidden size). The quadratic
 * term is what matters: a 512-token text costs bge-small-en-v1.5 a few tens of MB, but an 8,192-token text costs a
 * 768-wide model several gigabytes of native memory, outside the heap and its circuit breakers, enough to have the
 * operating system kill the node. Sub-batches of several texts stay small (the batcher's token budget caps their
 * padded tokens), so a run's size is set by its longest text, and a text that is over the bound alone can never run.
 *
 * <p>The estimate is {@code 4 bytes x batch x (3 x heads x length^2 + 16 x hidden x length)}, with the hidden size
 * the card's dims and heads taken as {@code hidden / 32}: no model in the catalog has attention heads narrower than
 * 32 (bge-small-en-v1.5's are exactly that), so the estimate is exact for the narrowest and about twice the real
 * figure for models with heads of 64 or 128, never below it. Contract: {@link #refused} names every text whose
 * single-text run is over the bound; the encoder runs none of them.
 */
public final class RunMemory {
    /** The narrowest attention head of any catalog model, in dims (see the class notes). */
    static final int NARROWEST_HEAD = 32;

    private final String model;
    private final int hidden;
    private final long maxBytes;

    /**
     * @param model the model's name, for messages
     * @param hidden the model's hidden size (its card's dims)
     * @param maxBytes the most working memory one run may need; {@code Long.MAX_VALUE}: no bound
     */
    public RunMemory(String model, int hidden, long maxBytes) {
        if (maxBytes < 1) {
            throw new InvalidInputException("the run memory bound must be positive, got " + maxBytes);
        }
        this.model = model;
        this.hidden = hidden;
        this.maxBytes = maxBytes;
    }

    public static RunMemory unbounded(String model, int hidden) {
        return new RunMemory(model, hidden, Long.MAX_VALUE);
    }

    /** The estimated working memory of one run of {@code batch} texts padded to {@code length} tokens. */
    public long bytes(int batch, int length) {
        double heads = Math.max(1, hidden / NARROWEST_HEAD);
        double perText = 3 * heads * (double) length * length + 16.0 * hidden * length;
        double total = 4 * batch * perText;
        return total >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) total;
    }

    /** The longest text, in tokens, that runs alone within the bound. */
    public int longestText() {
        int lo = 1, hi = Integer.MAX_VALUE / 2;
        if (bytes(1, lo) > maxBytes) {
            return 0;
        }
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (bytes(1, mid) <= maxBytes) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** Whether a text of {@code tokens} tokens (special tokens included) is over the bound alone. */
    public boolean tooLong(int tokens) {
        return bytes(1, tokens) > maxBytes;
    }

    /**
     * The positions of the texts whose single-text run is over the bound, in order; empty when all may run.
     */
    public List<Integer> refused(Tokens[] tokens) {
        List<Integer> refused = new ArrayList<>(0);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] != null && tooLong(tokens[i].length())) {
                refused.add(i);
            }
        }
        return refused;
    }

    /** The 400 for a text of {@code tokens} tokens at {@code position} of {@code count} texts. */
    public TextTooLongException refusal(int tokens, int position, int count) {
        String advice = "cut it into passages with [chunking], or raise the setting";
        return new TextTooLongException(
                describe(
                        "text " + (count == 1 ? "" : "[" + position + "] ") + "of " + tokens + " tokens",
                        tokens,
                        advice),
                describe("text of " + tokens + " tokens", tokens, advice),
                position);
    }

    /** The 400 for passage windows of up to {@code tokens} tokens, when one of them alone is over the bound. */
    public InvalidInputException windowsRefusal(int tokens) {
        return new InvalidInputException(describe(
                "passage windows of up to " + tokens + " tokens are",
                tokens,
                "lower [max_tokens], or raise the setting"));
    }

    private String describe(String subject, int tokens, String advice) {
        return String.format(
                Locale.ROOT,
                "%s too long for model [%s] on this node: one run of %d tokens needs about %s of ONNX Runtime working"
                        + " memory, over [embeddings.onnx.max_run_memory] (%s), which allows at most %d tokens; %s",
                subject.endsWith(" are") ? subject : subject + " is",
                model,
                tokens,
                megabytes(bytes(1, tokens)),
                megabytes(maxBytes),
                longestText(),
                advice);
    }

    private static String megabytes(long bytes) {
        long mb = (bytes >> 20) + ((bytes & ((1 << 20) - 1)) == 0 ? 0 : 1);
        return bytes >= Long.MAX_VALUE ? "unbounded" : String.format(Locale.ROOT, "%,d MB", mb);
    }

    /** A text over the bound: the caller's error (a 400), naming the text's position in its call. */
    public static final class TextTooLongException extends InvalidInputException {
        private final String alone;
        private final int position;

        TextTooLongException(String message, String alone, int position) {
            super(message);
            this.alone = alone;
            this.position = position;
        }

        /** The message without the text's position: for a caller that names the text its own way. */
        public String alone() {
            return alone;
        }

        /** The text's position among the texts of the call that was refused. */
        public int position() {
            return position;
        }
    }
}

package org.embeddings.encoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
 *
 * <p>ONNX Runtime keeps what a run took in its session's arena for the next run. That is right for the runs a node
 * makes all day (a 512-token text of bge-small-en-v1.5 keeps about 30 MB per session), but a long text of a
 * long-context model would pin up to the bound, per worker, for the rest of the node's life. So a run estimated above
 * {@link #RELEASE_ABOVE_BYTES} gives its memory back when it ends ({@link #releases}; {@code OnnxModel} asks ONNX
 * Runtime to shrink the arena after it), at the cost of allocating it afresh the next time.
 */
public final class RunMemory {
    /** The narrowest attention head of any catalog model, in dims (see the class notes). */
    static final int NARROWEST_HEAD = 32;

    /** Runs estimated above this give their working memory back when they end (see the class notes). */
    public static final long RELEASE_ABOVE_BYTES = 256L << 20;

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

    /** Whether a run of {@code batch} texts padded to {@code length} tokens gives its memory back when it ends. */
    public boolean releases(int batch, int length) {
        return bytes(batch, length) > RELEASE_ABOVE_BYTES;
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
            if (tooLong(tokens[i].length())) {
                refused.add(i);
            }
        }
        return refused;
    }

    /**
     * The 400 for the texts at {@code refused} (non-empty) of {@code tokens}: its message names the first by its
     * position (unless it is the only text), and it keeps each one's own message for a caller that fails them apart.
     */
    public TextTooLongException refusal(Tokens[] tokens, List<Integer> refused) {
        Map<Integer, String> each = new LinkedHashMap<>();
        for (int i : refused) {
            each.put(i, textMessage("text of " + tokens[i].length() + " tokens is", tokens[i].length()));
        }
        int first = refused.get(0);
        String message = tokens.length == 1
                ? each.get(first)
                : textMessage(
                        "text [" + first + "] of " + tokens[first].length() + " tokens is", tokens[first].length());
        return new TextTooLongException(message, each);
    }

    /** The 400 for one text of {@code tokens} tokens, named by no position. */
    public TextTooLongException refusal(int tokens) {
        String message = textMessage("text of " + tokens + " tokens is", tokens);
        return new TextTooLongException(message, Map.of(0, message));
    }

    /** The 400 for passage windows of up to {@code tokens} tokens, when one of them alone is over the bound. */
    public InvalidInputException windowsRefusal(int tokens) {
        return new InvalidInputException(describe(
                "passage windows of up to " + tokens + " tokens are",
                tokens,
                "lower [max_tokens], or raise the setting"));
    }

    private String textMessage(String subject, int tokens) {
        return describe(subject, tokens, "cut it into passages with [chunking], or raise the setting");
    }

    /** {@code subject} names what is refused, with its verb. */
    private String describe(String subject, int tokens, String advice) {
        return String.format(
                Locale.ROOT,
                "%s too long for model [%s] on this node: one run of %d tokens needs about %s of ONNX Runtime working"
                        + " memory, over [embeddings.onnx.max_run_memory] (%s), which allows at most %d tokens; %s",
                subject,
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

    /**
     * Texts over the bound: the caller's error (a 400). Its message names the first; each refused text's position in
     * the call maps to its own message, without the position, for a caller that fails each its own way.
     */
    public static final class TextTooLongException extends InvalidInputException {
        private final Map<Integer, String> each;

        TextTooLongException(String message, Map<Integer, String> each) {
            super(message);
            this.each = Map.copyOf(each);
        }

        /** The positions of the refused texts among the texts of the call. */
        public Set<Integer> positions() {
            return each.keySet();
        }

        /** The message of the text at {@code position}, without its position; null for a text not refused. */
        public String alone(int position) {
            return each.get(position);
        }
    }
}

package org.embeddings.encoder.passages;

import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.card.ModelCard;

/**
 * How a long text is cut into passages: a text whose model input takes at most {@code wholeTokens} tokens stays one
 * passage; a longer one is cut by its {@link ChunkingStrategy} into windows of at most {@code maxTokens} tokens of
 * model input, counted in the model's own tokens with the role's prompt and the special tokens included (so a window
 * is never truncated); token windows (the {@code tokens} strategy, and inside a sentence or piece longer than a
 * window) share at most {@code overlapTokens} tokens when a cut falls inside a paragraph. With {@code leads}, a
 * window that starts inside a paragraph is read after the paragraph's first sentence (see {@link PassageCutter}).
 *
 * <p>The defaults were chosen by measurement (docs/passages.md): windows much longer than a paragraph blur unrelated
 * text into one vector, much shorter ones lose the context a passage needs. With the default strategy, 192 tokens
 * scored above 256 for every model and layout of long documents measured, most where nothing but sentence ends marks
 * where one part of a document stops; with {@code tokens} on text that has blank lines it did not for every model,
 * since a shorter window that crosses a blank line mixes more of the next part into it. A model with a lower limit than the
 * default window gets windows of its limit. By default every text longer than one window is cut
 * ({@code wholeTokens == maxTokens}); a larger {@code wholeTokens}, up to the model's limit, keeps the texts the
 * model reads whole as one passage, for fewer vectors at a small measured cost (0.2 to 0.3 nDCG@10 on SciFact).
 */
public record Chunking(ChunkingStrategy strategy, int maxTokens, int overlapTokens, int wholeTokens, boolean leads) {
    public static final int DEFAULT_MAX_TOKENS = 192;
    public static final int DEFAULT_OVERLAP_TOKENS = 24;
    /** Shorter windows hold too little text to be a passage, and leave no room for a long prompt. */
    public static final int MIN_MAX_TOKENS = 16;

    /** The strategy of {@code "chunking": {}}. */
    public static final ChunkingStrategy DEFAULT_STRATEGY =
            new ChunkingStrategy.ByDelimiter(ChunkingStrategy.ByDelimiter.DEFAULT_DELIMITER);
    /** Whether {@code "chunking": {}} reads a window inside a paragraph after the paragraph's lead sentence. */
    public static final boolean DEFAULT_LEADS = false;

    public Chunking {
        if (strategy == null) {
            throw new IllegalArgumentException("a chunking strategy is required");
        }
        if (maxTokens < MIN_MAX_TOKENS) {
            throw new InvalidInputException(
                    "[max_tokens] must be at least " + MIN_MAX_TOKENS + ", got [" + maxTokens + "]");
        }
        if (overlapTokens < 0 || overlapTokens >= maxTokens) {
            throw new InvalidInputException("[overlap_tokens] must be at least 0 and less than [max_tokens] ("
                    + maxTokens + "), got [" + overlapTokens + "]");
        }
        if (wholeTokens < maxTokens) {
            throw new InvalidInputException(
                    "[whole_tokens] must be at least [max_tokens] (" + maxTokens + "), got [" + wholeTokens + "]");
        }
    }

    /** Token windows of {@code maxTokens}, every text longer than one window cut. */
    public Chunking(int maxTokens, int overlapTokens) {
        this(new ChunkingStrategy.ByTokens(), maxTokens, overlapTokens, maxTokens, false);
    }

    /** {@link #Chunking(int, int, int)} with every other option as given and no leads. */
    public Chunking(ChunkingStrategy strategy, int maxTokens, int overlapTokens, int wholeTokens) {
        this(strategy, maxTokens, overlapTokens, wholeTokens, false);
    }

    /** {@code strategy}'s windows of {@code maxTokens}, every text longer than one window cut. */
    public Chunking(ChunkingStrategy strategy, int maxTokens, int overlapTokens) {
        this(strategy, maxTokens, overlapTokens, maxTokens, false);
    }

    /** The measured defaults, within the model's token limit. */
    public static Chunking defaults(ModelCard card) {
        return of(null, null, null, null, null, card);
    }

    /** {@link #of(ChunkingStrategy, Integer, Integer, Integer, Boolean, ModelCard)} with the default strategy. */
    public static Chunking of(Integer maxTokens, Integer overlapTokens, Integer wholeTokens, ModelCard card) {
        return of(null, maxTokens, overlapTokens, wholeTokens, null, card);
    }

    /**
     * The options a user gave (null: not given) for {@code card}'s model: a missing {@code strategy} is
     * {@link #DEFAULT_STRATEGY}; a missing {@code maxTokens} is the default window within the model's limit; a
     * missing {@code overlapTokens} keeps the default's share of the window; a missing {@code wholeTokens} is the
     * window; a missing {@code leads} is {@link #DEFAULT_LEADS}. Fails, naming the option, for a window past the
     * model's limit or an overlap not below the window.
     */
    public static Chunking of(
            ChunkingStrategy strategy,
            Integer maxTokens,
            Integer overlapTokens,
            Integer wholeTokens,
            Boolean leads,
            ModelCard card) {
        int max = maxTokens == null ? Math.min(DEFAULT_MAX_TOKENS, card.maxTokens()) : maxTokens;
        int overlap = overlapTokens != null
                ? overlapTokens
                : (int) ((long) max * DEFAULT_OVERLAP_TOKENS / DEFAULT_MAX_TOKENS);
        int whole = wholeTokens != null ? wholeTokens : max;
        return new Chunking(
                        strategy == null ? DEFAULT_STRATEGY : strategy,
                        max,
                        overlap,
                        whole,
                        leads == null ? DEFAULT_LEADS : leads)
                .checkFits(card);
    }

    /** Fails, naming the option, when a window or a whole text would not fit the model. */
    public Chunking checkFits(ModelCard card) {
        if (maxTokens > card.maxTokens()) {
            throw new InvalidInputException("[max_tokens] [" + maxTokens + "] exceeds the token limit ["
                    + card.maxTokens() + "] of model [" + card.name() + "]");
        }
        if (wholeTokens > card.maxTokens()) {
            throw new InvalidInputException("[whole_tokens] [" + wholeTokens + "] exceeds the token limit ["
                    + card.maxTokens() + "] of model [" + card.name() + "]");
        }
        return this;
    }
}

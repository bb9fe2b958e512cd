package org.embeddings.encoder;

/**
 * How a node runs its models: ONNX Runtime session settings and the batcher's limits ({@code queryTokenBudget}: the
 * slices document sub-batches run in while queries arrive, see {@link TokenBudgetBatcher}; at or above
 * {@code tokenBudget} a slice is the whole sub-batch).
 */
public record EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch, int queryTokenBudget) {
    public static final int DEFAULT_TOKEN_BUDGET = 512;
    public static final int DEFAULT_QUERY_TOKEN_BUDGET = 128;

    public EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch) {
        this(session, tokenBudget, maxBatch, DEFAULT_QUERY_TOKEN_BUDGET);
    }

    public static EncoderSettings defaults() {
        return new EncoderSettings(SessionSettings.defaults(), DEFAULT_TOKEN_BUDGET, 64);
    }

    TokenBudgetBatcher batcher() {
        return new TokenBudgetBatcher(tokenBudget, maxBatch, queryTokenBudget);
    }
}

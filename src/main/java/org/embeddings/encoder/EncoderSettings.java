package org.embeddings.encoder;

/**
 * How a node runs its models: ONNX Runtime session settings, the batcher's limits ({@code queryTokenBudget}: the
 * slices document sub-batches run in while queries arrive, see {@link TokenBudgetBatcher}; at or above
 * {@code tokenBudget} a slice is the whole sub-batch), and {@code queryBurst}: how many query tasks may run in a row on
 * a model's {@link NativeThread} while document work waits.
 */
public record EncoderSettings(
        SessionSettings session, int tokenBudget, int maxBatch, int queryTokenBudget, int queryBurst) {
    public static final int DEFAULT_TOKEN_BUDGET = 512;
    public static final int DEFAULT_QUERY_TOKEN_BUDGET = 128;

    public EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch) {
        this(session, tokenBudget, maxBatch, DEFAULT_QUERY_TOKEN_BUDGET);
    }

    public EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch, int queryTokenBudget) {
        this(session, tokenBudget, maxBatch, queryTokenBudget, NativeThread.DEFAULT_BURST);
    }

    public static EncoderSettings defaults() {
        return new EncoderSettings(SessionSettings.defaults(), DEFAULT_TOKEN_BUDGET, 64);
    }

    public TokenBudgetBatcher batcher() {
        return new TokenBudgetBatcher(tokenBudget, maxBatch, queryTokenBudget);
    }
}

package org.embeddings.encoder;

import java.util.Optional;

/**
 * How a node runs its models: ONNX Runtime session settings, the batcher's limits ({@code queryTokenBudget}: the
 * slices document sub-batches run in while queries arrive, see {@link TokenBudgetBatcher}; at or above
 * {@code tokenBudget} a slice is the whole sub-batch), and {@code queryBurst}: how many query tasks may run in a row on
 * a model's {@link NativeThread} while document work waits; {@code loneQueryThreads}: the intra-op threads of an int8
 * model's second session for queries that come alone (0: none; see {@link LoneQuerySession}); {@code workers}: the
 * threads of a model's {@link NativeThread}, which run that many session runs at once.
 */
public record EncoderSettings(
        SessionSettings session,
        int tokenBudget,
        int maxBatch,
        int queryTokenBudget,
        int queryBurst,
        int loneQueryThreads,
        int workers) {
    public static final int DEFAULT_TOKEN_BUDGET = 512;
    public static final int DEFAULT_QUERY_TOKEN_BUDGET = 128;

    public EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch) {
        this(session, tokenBudget, maxBatch, DEFAULT_QUERY_TOKEN_BUDGET);
    }

    public EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch, int queryTokenBudget) {
        this(session, tokenBudget, maxBatch, queryTokenBudget, NativeThread.DEFAULT_BURST);
    }

    public EncoderSettings(
            SessionSettings session, int tokenBudget, int maxBatch, int queryTokenBudget, int queryBurst) {
        this(session, tokenBudget, maxBatch, queryTokenBudget, queryBurst, 0);
    }

    public EncoderSettings(
            SessionSettings session,
            int tokenBudget,
            int maxBatch,
            int queryTokenBudget,
            int queryBurst,
            int loneQueryThreads) {
        this(session, tokenBudget, maxBatch, queryTokenBudget, queryBurst, loneQueryThreads, 1);
    }

    public EncoderSettings {
        if (loneQueryThreads < 0) {
            throw new InvalidInputException("lone-query threads must be at least 0, got " + loneQueryThreads);
        }
        if (workers < 1) {
            throw new InvalidInputException("native workers must be at least 1, got " + workers);
        }
    }

    /**
     * The settings of the lone-query session, when there is one to build: fewer intra-op threads than the batch
     * session, on the CPU (a GPU run has no intra-op threads to spare).
     */
    public Optional<SessionSettings> loneQuerySession() {
        return loneQueryThreads > 0 && loneQueryThreads < session.intraOpThreads() && session.cuda() == false
                ? Optional.of(new SessionSettings(loneQueryThreads, false, session.allowSpinning()))
                : Optional.empty();
    }

    public static EncoderSettings defaults() {
        return new EncoderSettings(SessionSettings.defaults(), DEFAULT_TOKEN_BUDGET, 64);
    }

    public TokenBudgetBatcher batcher() {
        return new TokenBudgetBatcher(tokenBudget, maxBatch, queryTokenBudget);
    }
}

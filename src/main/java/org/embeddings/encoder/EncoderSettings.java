package org.embeddings.encoder;

import java.util.Optional;
import org.embeddings.encoder.card.ModelCard;

/**
 * How a node runs its models: ONNX Runtime session settings, the batcher's limits ({@code queryTokenBudget}: the
 * slices document sub-batches run in while queries arrive, see {@link TokenBudgetBatcher}; at or above
 * {@code tokenBudget} a slice is the whole sub-batch), and {@code queryBurst}: how many query tasks may run in a row on
 * a model's {@link NativeThread} while document work waits; {@code loneQueryThreads}: the intra-op threads of an int8
 * model's second session for queries that come alone (0: none; see {@link LoneQuerySession}); {@code workers}: the
 * threads of a model's {@link NativeThread}, which run that many session runs at once; {@code maxRunBytes}: the most
 * working memory one session run may need, past which a text is refused ({@link RunMemory}).
 */
public record EncoderSettings(
        SessionSettings session,
        int tokenBudget,
        int maxBatch,
        int queryTokenBudget,
        int queryBurst,
        int loneQueryThreads,
        int workers,
        long maxRunBytes) {
    public static final int DEFAULT_TOKEN_BUDGET = 512;
    /** 1 GB: no 512-token model comes near it; a 768-wide model runs texts of up to 1,847 tokens alone. */
    public static final long DEFAULT_MAX_RUN_BYTES = 1L << 30;

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

    public EncoderSettings(
            SessionSettings session,
            int tokenBudget,
            int maxBatch,
            int queryTokenBudget,
            int queryBurst,
            int loneQueryThreads,
            int workers) {
        this(
                session,
                tokenBudget,
                maxBatch,
                queryTokenBudget,
                queryBurst,
                loneQueryThreads,
                workers,
                DEFAULT_MAX_RUN_BYTES);
    }

    public EncoderSettings {
        if (loneQueryThreads < 0) {
            throw new InvalidInputException("lone-query threads must be at least 0, got " + loneQueryThreads);
        }
        if (workers < 1) {
            throw new InvalidInputException("native workers must be at least 1, got " + workers);
        }
        if (maxRunBytes < 1) {
            throw new InvalidInputException("the run memory bound must be positive, got " + maxRunBytes);
        }
    }

    /** The bound on one run of {@code card}'s model. */
    public RunMemory runMemory(ModelCard card) {
        return new RunMemory(card.name(), card.dims(), maxRunBytes);
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

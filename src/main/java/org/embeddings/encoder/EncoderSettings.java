package org.embeddings.encoder;

/** How a node runs its models: ONNX Runtime session settings and the batcher's limits. */
public record EncoderSettings(SessionSettings session, int tokenBudget, int maxBatch) {
    public static EncoderSettings defaults() {
        return new EncoderSettings(SessionSettings.defaults(), 512, 64);
    }

    TokenBudgetBatcher batcher() {
        return new TokenBudgetBatcher(tokenBudget, maxBatch);
    }
}

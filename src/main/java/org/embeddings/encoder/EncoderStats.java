package org.embeddings.encoder;

import java.util.concurrent.atomic.LongAdder;

/** Counters a host can report: calls, texts, real tokens, ONNX batches, and time spent in the model. */
public final class EncoderStats {
    final LongAdder requests = new LongAdder();
    final LongAdder texts = new LongAdder();
    final LongAdder tokens = new LongAdder();
    final LongAdder paddedTokens = new LongAdder();
    final LongAdder batches = new LongAdder();
    final LongAdder inferenceNanos = new LongAdder();

    public record Snapshot(
            long requests, long texts, long tokens, long paddedTokens, long batches, long inferenceNanos) {}

    public Snapshot snapshot() {
        return new Snapshot(
                requests.sum(), texts.sum(), tokens.sum(), paddedTokens.sum(), batches.sum(), inferenceNanos.sum());
    }
}

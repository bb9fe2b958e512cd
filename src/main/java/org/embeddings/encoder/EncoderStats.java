package org.embeddings.encoder;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters a host can report: calls, texts, real tokens, ONNX batches, and time spent in the model; and, for the
 * interactive encodes that queries make ({@link Encoder#encodeInteractive}), where their time goes: waiting for the
 * model's thread, tokenizing, the ONNX run, pooling.
 */
public final class EncoderStats {
    final LongAdder requests = new LongAdder();
    final LongAdder texts = new LongAdder();
    final LongAdder tokens = new LongAdder();
    final LongAdder paddedTokens = new LongAdder();
    final LongAdder batches = new LongAdder();
    final LongAdder inferenceNanos = new LongAdder();
    final LongAdder interactive = new LongAdder();
    final LongAdder interactiveWaitNanos = new LongAdder();
    final LongAdder interactiveTokenizeNanos = new LongAdder();
    final LongAdder interactiveRunNanos = new LongAdder();
    final LongAdder interactivePoolNanos = new LongAdder();
    final LongAdder interactiveLoneRuns = new LongAdder();

    /**
     * Interactive encodes and the nanoseconds of each of their stages, summed; {@code loneRuns}: their ONNX runs of
     * one text that the lone-query session ran ({@link LoneQuerySession}).
     */
    public record Stages(
            long encodes, long waitNanos, long tokenizeNanos, long runNanos, long poolNanos, long loneRuns) {}

    public record Snapshot(
            long requests,
            long texts,
            long tokens,
            long paddedTokens,
            long batches,
            long inferenceNanos,
            Stages interactive) {}

    public Snapshot snapshot() {
        return new Snapshot(
                requests.sum(),
                texts.sum(),
                tokens.sum(),
                paddedTokens.sum(),
                batches.sum(),
                inferenceNanos.sum(),
                new Stages(
                        interactive.sum(),
                        interactiveWaitNanos.sum(),
                        interactiveTokenizeNanos.sum(),
                        interactiveRunNanos.sum(),
                        interactivePoolNanos.sum(),
                        interactiveLoneRuns.sum()));
    }
}

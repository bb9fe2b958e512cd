package org.embeddings.encoder;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * How an ONNX Runtime session runs: intra-op threads (one session's parallelism across cores), whether idle
 * intra-op threads spin (fast hand-offs inside one run, but cores taken from everything else the node does while
 * they wait), and whether to use the CUDA execution provider, which needs the {@code onnxruntime_gpu} build on the
 * classpath.
 */
public record SessionSettings(int intraOpThreads, boolean cuda, boolean allowSpinning) {
    public SessionSettings {
        if (intraOpThreads < 1) {
            throw new InvalidInputException("intra-op threads must be at least 1, got " + intraOpThreads);
        }
    }

    /** Without spinning, as a node runs by default ({@code embeddings.onnx.allow_spinning}; docs/performance.md). */
    public SessionSettings(int intraOpThreads, boolean cuda) {
        this(intraOpThreads, cuda, false);
    }

    public static SessionSettings defaults() {
        return new SessionSettings(Runtime.getRuntime().availableProcessors(), false);
    }

    public OrtSession.SessionOptions toOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setIntraOpNumThreads(intraOpThreads);
        options.setInterOpNumThreads(1);
        options.addConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");
        if (cuda) {
            options.addCUDA();
        }
        return options;
    }
}

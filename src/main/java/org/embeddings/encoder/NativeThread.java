package org.embeddings.encoder;

import java.io.Closeable;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The thread a model's native code runs on: tokenizer construction and calls, ONNX Runtime session creation and
 * runs. Its stack is {@value #STACK_BYTES} bytes because that native code can overflow a 1 MB Java thread stack
 * (OpenSearch starts its JVM with {@code -Xss1m}; a standalone run crashed that way while creating a session), and a
 * native stack overflow is a segmentation fault that takes the whole JVM, the node, down.
 *
 * <p>Tasks wait in two lanes: every {@link Lane#INTERACTIVE} task runs before any waiting {@link Lane#BULK} task,
 * and tasks of one lane run in the order they came. Document encodes submit one sub-batch at a time, so a query
 * waits at most for the sub-batch that is running, never for the rest of a bulk. Callers block until their task is
 * done, so it adds one thread hop per task and changes nothing else.
 */
public final class NativeThread implements Closeable {
    static final long STACK_BYTES = 64L << 20;

    private final ThreadPoolExecutor executor;
    private final AtomicLong sequence = new AtomicLong();
    /** When the last interactive task came, in {@link System#nanoTime()}; far in the past before the first. */
    private volatile long lastInteractive = System.nanoTime() - (1L << 62);

    public NativeThread(String name) {
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new PriorityBlockingQueue<>(), r -> {
            Thread t = new Thread(null, r, "embeddings-native[" + name + "]", STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code task} in the bulk lane. */
    public <T> T call(Callable<T> task) {
        return call(Lane.BULK, task);
    }

    public <T> T call(Lane lane, Callable<T> task) {
        if (lane == Lane.INTERACTIVE) {
            lastInteractive = System.nanoTime();
        }
        LaneTask<T> queued = new LaneTask<>(task, lane, sequence.getAndIncrement());
        executor.execute(queued);
        try {
            return queued.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for native code", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Whether an interactive task came within the last {@code nanos} nanoseconds: queries are arriving. */
    public boolean interactiveWithin(long nanos) {
        return System.nanoTime() - lastInteractive < nanos;
    }

    /** A task ordered by lane, then by arrival. */
    private static final class LaneTask<T> extends FutureTask<T> implements Comparable<LaneTask<?>> {
        private final Lane lane;
        private final long sequence;

        LaneTask(Callable<T> task, Lane lane, long sequence) {
            super(task);
            this.lane = lane;
            this.sequence = sequence;
        }

        @Override
        public int compareTo(LaneTask<?> other) {
            int byLane = Integer.compare(lane.ordinal(), other.lane.ordinal());
            return byLane != 0 ? byLane : Long.compare(sequence, other.sequence);
        }
    }

    @Override
    public void close() {
        executor.shutdown();
    }
}

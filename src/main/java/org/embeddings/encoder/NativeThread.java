package org.embeddings.encoder;

import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The thread a model's native code runs on: tokenizer construction and calls, ONNX Runtime session creation and
 * runs. Its stack is {@value #STACK_BYTES} bytes because that native code can overflow a 1 MB Java thread stack
 * (OpenSearch starts its JVM with {@code -Xss1m}; a standalone run crashed that way while creating a session), and a
 * native stack overflow is a segmentation fault that takes the whole JVM, the node, down.
 *
 * <p>Tasks wait in two lanes, each in the order it came. {@link Lane#INTERACTIVE} work goes first, so a query waits
 * for the task that is running, not for a bulk; but while {@link Lane#BULK} work waits, at most {@code burst}
 * interactive tasks run in a row before one bulk task does, so that documents keep making progress under a constant
 * stream of queries (they get at least one task in {@code burst + 1}), and a query waits for at most one more bulk
 * task (a slice of {@code query_token_budget} tokens while queries arrive). Callers block until their task is done,
 * so it adds one thread hop per task and changes nothing else.
 *
 * <p>{@link #close()} lets the tasks already queued run, then ends the thread; a task offered after it is refused.
 */
public final class NativeThread implements Closeable {
    static final long STACK_BYTES = 64L << 20;
    /** Interactive tasks that may run in a row while bulk work waits, unless the caller says otherwise. */
    public static final int DEFAULT_BURST = 4;

    private final String name;
    private final int burst;
    private final Thread thread;
    private final ArrayDeque<FutureTask<?>> interactive = new ArrayDeque<>();
    private final ArrayDeque<FutureTask<?>> bulk = new ArrayDeque<>();
    /** Interactive tasks run since the last bulk task while bulk work was waiting; guarded by {@code this}. */
    private int interactiveInARow;

    private boolean closed;
    /** When the last interactive task came, in {@link System#nanoTime()}; far in the past before the first. */
    private volatile long lastInteractive = System.nanoTime() - (1L << 62);

    public NativeThread(String name) {
        this(name, DEFAULT_BURST);
    }

    /** @param burst interactive tasks that may run in a row while bulk work waits (at least 1) */
    public NativeThread(String name, int burst) {
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be at least 1, got " + burst);
        }
        this.name = name;
        this.burst = burst;
        this.thread = new Thread(null, this::work, "embeddings-native[" + name + "]", STACK_BYTES);
        thread.setDaemon(true);
        thread.start();
    }

    /** Runs {@code task} in the bulk lane. */
    public <T> T call(Callable<T> task) {
        return call(Lane.BULK, task);
    }

    public <T> T call(Lane lane, Callable<T> task) {
        if (Thread.currentThread() == thread) {
            // a task of this thread calling in (a lease released here closing a retired model): queueing would wait
            // for itself, so it runs in place
            try {
                return task.call();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        FutureTask<T> queued = new FutureTask<>(task);
        enqueue(lane, queued);
        try {
            return queued.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queued.cancel(false);
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

    /**
     * Queues {@code task} in {@code lane} without waiting for it: the task runs on this thread and answers its
     * caller itself (it must catch what it throws; an exception escaping it is lost).
     */
    public void submit(Lane lane, Runnable task) {
        enqueue(lane, new FutureTask<>(task, null));
    }

    private synchronized void enqueue(Lane lane, FutureTask<?> queued) {
        if (closed) {
            throw new ModelUnavailableException("the native thread of model [" + name + "] is closed");
        }
        if (lane == Lane.INTERACTIVE) {
            lastInteractive = System.nanoTime();
            interactive.add(queued);
        } else {
            bulk.add(queued);
        }
        notifyAll();
    }

    /** Whether an interactive task came within the last {@code nanos} nanoseconds: queries are arriving. */
    public boolean interactiveWithin(long nanos) {
        return System.nanoTime() - lastInteractive < nanos;
    }

    /** Tasks waiting to run, both lanes. */
    public synchronized int waiting() {
        return interactive.size() + bulk.size();
    }

    private void work() {
        while (true) {
            FutureTask<?> next;
            synchronized (this) {
                while (interactive.isEmpty() && bulk.isEmpty()) {
                    if (closed) {
                        return;
                    }
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // only close() ends this thread, once the queues are empty
                    }
                }
                next = next();
            }
            next.run(); // a FutureTask keeps its task's failure for its caller
        }
    }

    /** The task to run now; the caller holds the lock and at least one lane has work. */
    private FutureTask<?> next() {
        if (bulk.isEmpty() == false && (interactive.isEmpty() || interactiveInARow >= burst)) {
            interactiveInARow = 0;
            return bulk.poll();
        }
        interactiveInARow = bulk.isEmpty() ? 0 : interactiveInARow + 1;
        return interactive.poll();
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}

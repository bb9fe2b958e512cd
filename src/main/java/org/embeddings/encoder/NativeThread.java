package org.embeddings.encoder;

import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The threads a model's native code runs on: tokenizer construction and calls, ONNX Runtime session creation and
 * runs. Each worker's stack is {@value #STACK_BYTES} bytes because that native code can overflow a 1 MB Java thread
 * stack (OpenSearch starts its JVM with {@code -Xss1m}; a standalone run crashed that way while creating a session),
 * and a native stack overflow is a segmentation fault that takes the whole JVM, the node, down.
 *
 * <p>{@code workers} threads take tasks from two shared lanes, each in the order it came. {@link Lane#INTERACTIVE}
 * work goes first, so a query waits for a running task to end, not for a bulk; but while {@link Lane#BULK} work
 * waits, at most {@code burst} interactive tasks start in a row before one bulk task does, so that documents keep
 * making progress under a constant stream of queries (they get at least one task in {@code burst + 1}), and a query
 * waits for at most one more bulk task (a slice of {@code query_token_budget} tokens while queries arrive). Several
 * workers run tasks at once on the same session and tokenizer, which ONNX Runtime and the Hugging Face tokenizer
 * allow: on few cores, two session runs of one intra-op thread each do more than one run of two threads, because a
 * run's many small operators each wake and wait for every intra-op thread (docs/performance.md). Callers block until
 * their task is done, so it adds one thread hop per task and changes nothing else.
 *
 * <p>An exclusive task ({@link #callExclusive}) starts only once no other task runs, and none starts while it runs:
 * closing the session must not race a run. {@link #close()} lets the tasks already queued run, then ends the
 * workers; a task offered after it is refused.
 */
public final class NativeThread implements Closeable {
    static final long STACK_BYTES = 64L << 20;
    /** Interactive tasks that may run in a row while bulk work waits, unless the caller says otherwise. */
    public static final int DEFAULT_BURST = 4;

    private final String name;
    private final int burst;
    private final List<Thread> workers;
    private final ArrayDeque<FutureTask<?>> interactive = new ArrayDeque<>();
    private final ArrayDeque<FutureTask<?>> bulk = new ArrayDeque<>();
    private final ArrayDeque<FutureTask<?>> exclusive = new ArrayDeque<>();
    /** Interactive tasks started since the last bulk task while bulk work was waiting; guarded by {@code this}. */
    private int interactiveInARow;
    /** Tasks running now; guarded by {@code this}. */
    private int running;
    /** The most tasks that ran at once so far; guarded by {@code this}. */
    private int mostAtOnce;
    /** Whether a task runs an exclusive task in place ({@link #exclusiveInPlace}); guarded by {@code this}. */
    private boolean exclusiveInPlace;
    /** Whether the running task is exclusive; guarded by {@code this}. */
    private boolean exclusiveRunning;

    private boolean closed;
    /** When the last interactive task came, in {@link System#nanoTime()}; far in the past before the first. */
    private volatile long lastInteractive = System.nanoTime() - (1L << 62);

    public NativeThread(String name) {
        this(name, DEFAULT_BURST);
    }

    /** @param burst interactive tasks that may run in a row while bulk work waits (at least 1) */
    public NativeThread(String name, int burst) {
        this(name, burst, 1);
    }

    /**
     * @param burst interactive tasks that may run in a row while bulk work waits (at least 1)
     * @param workers threads that run tasks at once (at least 1)
     */
    public NativeThread(String name, int burst, int workers) {
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be at least 1, got " + burst);
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        this.name = name;
        this.burst = burst;
        List<Thread> threads = new ArrayList<>(workers);
        for (int w = 0; w < workers; w++) {
            String threadName = "embeddings-native[" + name + (workers == 1 ? "" : "#" + w) + "]";
            Thread thread = new Thread(null, this::work, threadName, STACK_BYTES);
            thread.setDaemon(true);
            threads.add(thread);
        }
        this.workers = List.copyOf(threads);
        this.workers.forEach(Thread::start);
    }

    /** Threads that run tasks at once. */
    public int workers() {
        return workers.size();
    }

    /** Runs {@code task} in the bulk lane. */
    public <T> T call(Callable<T> task) {
        return call(Lane.BULK, task);
    }

    public <T> T call(Lane lane, Callable<T> task) {
        if (onWorker()) {
            return inPlace(task);
        }
        FutureTask<T> queued = new FutureTask<>(task);
        enqueue(lane, queued);
        return await(queued);
    }

    /** Runs {@code task} once no other task runs, with none starting until it ends (closing what tasks use). */
    public <T> T callExclusive(Callable<T> task) {
        if (onWorker()) {
            return exclusiveInPlace(task);
        }
        FutureTask<T> queued = new FutureTask<>(task);
        synchronized (this) {
            if (closed) {
                throw new ModelUnavailableException("the native thread of model [" + name + "] is closed");
            }
            exclusive.add(queued);
            notifyAll();
        }
        return await(queued);
    }

    /**
     * An exclusive task called from a task (a lease released in a task, closing a retired model): queueing it would
     * wait for the calling task, so it runs in place, once the other workers' running tasks ended (a task whose
     * caller gave up may still run) and with none starting until it is done. No task waits for another, so this
     * wait ends.
     */
    private <T> T exclusiveInPlace(Callable<T> task) {
        synchronized (this) {
            exclusiveInPlace = true;
            boolean interrupted = false;
            while (running > 1) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            return inPlace(task);
        } finally {
            synchronized (this) {
                exclusiveInPlace = false;
                notifyAll();
            }
        }
    }

    /**
     * Queues {@code task} in {@code lane} without waiting for it: the task runs on a worker and answers its caller
     * itself (it must catch what it throws; an exception escaping it is lost).
     */
    public void submit(Lane lane, Runnable task) {
        enqueue(lane, new FutureTask<>(task, null));
    }

    /** Whether the calling thread is one of the workers (a task that calls in runs in place). */
    public boolean onWorker() {
        return workers.contains(Thread.currentThread());
    }

    private static <T> T inPlace(Callable<T> task) {
        try {
            return task.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> T await(FutureTask<T> queued) {
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

    /** The most tasks that ran at once so far, at most {@link #workers()}. */
    public synchronized int mostAtOnce() {
        return mostAtOnce;
    }

    /** Tasks waiting to run, both lanes. */
    public synchronized int waiting() {
        return interactive.size() + bulk.size() + exclusive.size();
    }

    private void work() {
        while (true) {
            FutureTask<?> next;
            synchronized (this) {
                while ((next = take()) == null) {
                    if (closed && interactive.isEmpty() && bulk.isEmpty() && exclusive.isEmpty()) {
                        return;
                    }
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // only close() ends a worker, once the queues are empty
                    }
                }
                running++;
                mostAtOnce = Math.max(mostAtOnce, running);
            }
            try {
                next.run(); // a FutureTask keeps its task's failure for its caller
            } finally {
                synchronized (this) {
                    running--;
                    exclusiveRunning = false; // an exclusive task runs alone: the task that ended was it
                    notifyAll();
                }
            }
        }
    }

    /** The task to start now, or null to wait; the caller holds the lock. */
    private FutureTask<?> take() {
        if (exclusiveRunning || exclusiveInPlace) {
            return null;
        }
        if (exclusive.isEmpty() == false) {
            if (running > 0) {
                return null; // no new task starts while an exclusive one waits for the running ones to end
            }
            exclusiveRunning = true;
            return exclusive.poll();
        }
        if (interactive.isEmpty() && bulk.isEmpty()) {
            return null;
        }
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

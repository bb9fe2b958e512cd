package org.embeddings.encoder;

import java.io.Closeable;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The thread a model's native code runs on: tokenizer construction and calls, ONNX Runtime session creation and
 * runs. Its stack is {@value #STACK_BYTES} bytes because that native code can overflow a 1 MB Java thread stack
 * (OpenSearch starts its JVM with {@code -Xss1m}; a standalone run crashed that way while creating a session), and a
 * native stack overflow is a segmentation fault that takes the whole JVM, the node, down. Callers block until the
 * task is done, so it adds one thread hop per batch and changes nothing else.
 */
public final class NativeThread implements Closeable {
    static final long STACK_BYTES = 64L << 20;

    private final ExecutorService executor;

    public NativeThread(String name) {
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(null, r, "embeddings-native[" + name + "]", STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
    }

    public <T> T call(Callable<T> task) {
        try {
            return executor.submit(task).get();
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

    @Override
    public void close() {
        executor.shutdown();
    }
}

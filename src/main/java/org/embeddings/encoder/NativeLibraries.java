package org.embeddings.encoder;

import ai.onnxruntime.OrtEnvironment;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Where native code goes. DJL extracts its tokenizer library into {@code ENGINE_CACHE_DIR}, by default under the
 * user's home; a host must point it at a private directory (a node's tmp path) before the first tokenizer loads.
 * DJL finds its resources through the context class loader, which in a plugin is not the plugin's own loader.
 * DJL also sends telemetry (it asks the EC2 metadata address) when it builds a tokenizer unless the system property
 * {@code offline} is true; this encoder never uses the network, so it always sets it.
 *
 * <p>ONNX Runtime's environment is created once, on a thread of its own with a large stack: creating it uses native
 * stack in proportion to the process's command line (about 250 bytes per character, measured with ONNX Runtime
 * 1.29 on Linux), so on a 1 MB thread (OpenSearch runs with {@code -Xss1m}) a command line of a few thousand
 * characters, such as a long {@code -cp}, kills the JVM with SIGSEGV. Sessions made later need no more stack.
 */
public final class NativeLibraries {
    static final String CACHE_PROPERTY = "ENGINE_CACHE_DIR";
    static final String OFFLINE_PROPERTY = "offline";

    /** Covers a command line of about 250,000 characters; it is reserved address space, touched only as used. */
    private static final long ORT_INIT_STACK_BYTES = 64L << 20;

    private static volatile OrtEnvironment ortEnvironment;

    private NativeLibraries() {}

    /** ONNX Runtime's one environment, created on first use on a thread with room for it (see the class notes). */
    static OrtEnvironment ortEnvironment() {
        OrtEnvironment env = ortEnvironment;
        if (env != null) {
            return env;
        }
        synchronized (NativeLibraries.class) {
            if (ortEnvironment == null) {
                FutureTask<OrtEnvironment> create = new FutureTask<>(OrtEnvironment::getEnvironment);
                Thread thread = new Thread(null, create, "embeddings-onnxruntime-init", ORT_INIT_STACK_BYTES);
                thread.setDaemon(true);
                thread.start();
                try {
                    ortEnvironment = create.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ModelLoadException("interrupted while starting ONNX Runtime", e);
                } catch (ExecutionException e) {
                    throw new ModelLoadException("cannot start ONNX Runtime: " + e.getCause(), e.getCause());
                }
            }
            return ortEnvironment;
        }
    }

    /** Sets the directory native libraries are extracted to, unless the operator already chose one. */
    public static synchronized void configure(Path dir) {
        System.setProperty(OFFLINE_PROPERTY, "true");
        if (System.getProperty(CACHE_PROPERTY) == null) {
            System.setProperty(CACHE_PROPERTY, dir.toAbsolutePath().toString());
        }
    }

    static void ensureConfigured() {
        System.setProperty(OFFLINE_PROPERTY, "true");
        if (System.getProperty(CACHE_PROPERTY) == null) {
            configure(Path.of(System.getProperty("java.io.tmpdir"), "embeddings-native"));
        }
    }

    static <T> T withPluginClassLoader(Callable<T> action) throws java.io.IOException {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(NativeLibraries.class.getClassLoader());
        try {
            return action.call();
        } catch (java.io.IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }
}

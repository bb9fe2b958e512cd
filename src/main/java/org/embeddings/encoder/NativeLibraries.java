package org.embeddings.encoder;

import ai.onnxruntime.OrtEnvironment;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Where native code goes, and how the encoder keeps its native libraries' global settings to itself.
 *
 * <p>DJL extracts its tokenizer library into {@code ENGINE_CACHE_DIR} (by default under the user's home) and sends
 * telemetry (it asks the EC2 metadata address) when it builds a tokenizer unless {@code OPT_OUT_TRACKING} (or
 * {@code offline}) is set. Both are JVM-wide system properties, which another plugin's DJL reads too: ml-commons'
 * DJL finds its PyTorch natives through {@code ENGINE_CACHE_DIR}, and refuses to fetch them in offline mode, so a
 * plugin that sets either for good breaks ml-commons' model deployment in the same node. The encoder therefore sets
 * them only while it builds a tokenizer (the only moment its DJL reads them: the library loads once, telemetry is
 * checked per build), under a lock, and restores what was there; an operator's own {@code ENGINE_CACHE_DIR} is kept.
 * DJL finds its resources through the context class loader, which in a plugin is not the plugin's own loader.
 *
 * <p>ONNX Runtime's environment is created once, on a thread of its own with a large stack: creating it uses native
 * stack in proportion to the process's command line (about 250 bytes per character, measured with ONNX Runtime
 * 1.29 on Linux), so on a 1 MB thread (OpenSearch runs with {@code -Xss1m}) a command line of a few thousand
 * characters, such as a long {@code -cp}, kills the JVM with SIGSEGV. Sessions made later need no more stack.
 */
public final class NativeLibraries {
    static final String CACHE_PROPERTY = "ENGINE_CACHE_DIR";
    static final String TRACKING_PROPERTY = "OPT_OUT_TRACKING";

    /** Covers a command line of about 250,000 characters; it is reserved address space, touched only as used. */
    private static final long ORT_INIT_STACK_BYTES = 64L << 20;

    private static volatile OrtEnvironment ortEnvironment;
    private static Path nativeDir;

    private NativeLibraries() {}

    /** ONNX Runtime's one environment, created on first use on a thread with room for it (see the class notes). */
    public static OrtEnvironment ortEnvironment() {
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
                    throw new ModelUnavailableException("interrupted while starting ONNX Runtime", e);
                } catch (ExecutionException e) {
                    // its words may name the directory its native library was extracted to: for the log only
                    throw new ModelUnavailableException(
                            "cannot start ONNX Runtime ("
                                    + e.getCause().getClass().getSimpleName() + "); the node's log has the details",
                            e.getCause());
                }
            }
            return ortEnvironment;
        }
    }

    /** Sets the directory native libraries are extracted to (the node's tmp directory), unless already set. */
    public static synchronized void configure(Path dir) {
        if (nativeDir == null) {
            nativeDir = dir.toAbsolutePath();
        }
    }

    /**
     * Runs {@code action} (a tokenizer build) with the plugin's class loader as context loader and DJL's two global
     * properties pointing at this encoder's choices, then puts back what was there before.
     */
    static synchronized <T> T withTokenizerEnvironment(Callable<T> action) throws IOException {
        Path dir = nativeDir != null ? nativeDir : Path.of(System.getProperty("java.io.tmpdir"), "embeddings-native");
        Thread thread = Thread.currentThread();
        ClassLoader previousLoader = thread.getContextClassLoader();
        String previousCache = System.getProperty(CACHE_PROPERTY);
        String previousTracking = System.getProperty(TRACKING_PROPERTY);
        thread.setContextClassLoader(NativeLibraries.class.getClassLoader());
        if (previousCache == null) {
            System.setProperty(CACHE_PROPERTY, dir.toString());
        }
        System.setProperty(TRACKING_PROPERTY, "true");
        try {
            return action.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            restore(CACHE_PROPERTY, previousCache);
            restore(TRACKING_PROPERTY, previousTracking);
            thread.setContextClassLoader(previousLoader);
        }
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }
}

package org.embeddings.encoder;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Where native code goes. DJL extracts its tokenizer library into {@code ENGINE_CACHE_DIR}, by default under the
 * user's home; a host must point it at a private directory (a node's tmp path) before the first tokenizer loads.
 * DJL finds its resources through the context class loader, which in a plugin is not the plugin's own loader.
 * DJL also sends telemetry (it asks the EC2 metadata address) when it builds a tokenizer unless the system property
 * {@code offline} is true; this encoder never uses the network, so it always sets it.
 */
public final class NativeLibraries {
    static final String CACHE_PROPERTY = "ENGINE_CACHE_DIR";
    static final String OFFLINE_PROPERTY = "offline";

    private NativeLibraries() {}

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

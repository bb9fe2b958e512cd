package org.embeddings.encoder.models;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.LoadFailures;
import org.embeddings.encoder.ModelUnavailableException;

/**
 * Where one model stands on a node: being loaded (callers wait on one future), loaded (with the bytes it maps),
 * broken, or waiting out a backoff after a transient failure. A model that is not loaded has no state.
 *
 * <p>A broken model's failure is remembered together with the {@link FolderFingerprint} of its folder, so that it
 * answers its error at once instead of being loaded again on every request, and a repaired folder (any of its files
 * changed) is loaded again. A transient failure (out of memory, a full disk, an I/O error: {@link LoadFailures}) is
 * remembered only until its backoff ends; the next request after it loads again.
 */
public sealed interface ModelState {
    /** The label the models endpoint shows. */
    String label();

    /**
     * A load in flight on the registry's loader. {@code cancelled} is set by an unload that comes while it runs: the
     * load then closes what it built instead of installing it. {@code attempts}: loads before this one that failed
     * transiently.
     */
    record Loading(CompletableFuture<Encoder> done, long startNanos, int attempts, AtomicBoolean cancelled)
            implements ModelState {
        @Override
        public String label() {
            return "loading";
        }
    }

    /** {@code bytes}: what the model maps (its ONNX file and external data files), counted against the limit. */
    record Loaded(Encoder encoder, long bytes, long loadNanos) implements ModelState {
        @Override
        public String label() {
            return "loaded";
        }
    }

    record Broken(RuntimeException reason, FolderFingerprint folder) implements ModelState {
        @Override
        public String label() {
            return "failed";
        }
    }

    /** A transient failure, retried by the first request at or after {@code retryAtNanos}. */
    record Backoff(ModelUnavailableException reason, int attempts, long retryAtNanos) implements ModelState {
        @Override
        public String label() {
            return "backoff";
        }
    }
}

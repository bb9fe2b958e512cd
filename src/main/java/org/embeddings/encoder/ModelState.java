package org.embeddings.encoder;

import java.util.concurrent.CompletableFuture;

/**
 * Where one model stands on a node: being loaded (callers wait on one future), loaded (with the bytes it holds), or
 * failed with its reason. A failure is remembered together with the {@link FolderFingerprint} of the model's folder,
 * so that a broken model answers its error at once instead of being loaded again on every request, and a repaired
 * folder (any of its files changed) is loaded again. A model that is not loaded has no state.
 */
public sealed interface ModelState {
    /** The label the models endpoint shows. */
    String label();

    record Loading(CompletableFuture<Encoder> done) implements ModelState {
        @Override
        public String label() {
            return "loading";
        }
    }

    record Loaded(Encoder encoder, long bytes, long loadNanos) implements ModelState {
        @Override
        public String label() {
            return "loaded";
        }
    }

    record Failed(RuntimeException reason, FolderFingerprint folder) implements ModelState {
        @Override
        public String label() {
            return "failed";
        }
    }
}

package org.embeddings.opensearch.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.rest.RestStatus;

/**
 * The moment past which a batch of document texts (one {@code embed} processor call of a bulk, or one embed API
 * request) is no longer worth encoding: its bulk's timeout, else the node's {@code embeddings.document.timeout}.
 * Whoever sees it pass first (a timer, or the batch between two sub-batches) fails the batch with a 429, so a batch
 * never waits in the document lane for ever; {@link #claim()} makes sure only one of them answers.
 */
final class DocumentDeadline {
    private final long deadlineNanos;
    private final TimeValue limit;
    private final String source;
    private final AtomicBoolean claimed = new AtomicBoolean();

    /**
     * @param source where the limit comes from, for the message: {@code "the bulk's timeout"} or the node setting
     */
    DocumentDeadline(long deadlineNanos, TimeValue limit, String source) {
        this.deadlineNanos = deadlineNanos;
        this.limit = limit;
        this.source = source;
    }

    long remainingNanos(long nowNanos) {
        return Math.max(0, deadlineNanos - nowNanos);
    }

    boolean expired(long nowNanos) {
        return nowNanos - deadlineNanos >= 0;
    }

    /** True for the first caller only: the one that answers the batch. */
    boolean claim() {
        return claimed.compareAndSet(false, true);
    }

    boolean claimed() {
        return claimed.get();
    }

    /** The failure of a batch whose deadline passed: a 429, the node being too busy to encode it in time. */
    OpenSearchStatusException exceeded(String model, int texts, boolean stillLoading) {
        String why = stillLoading ? "model [" + model + "] is still loading" : "the document lane is busy";
        return new OpenSearchStatusException(
                "encoding " + texts + (texts == 1 ? " text" : " texts") + " with model [" + model
                        + "] did not finish within " + source + " [" + limit + "]: " + why
                        + "; retry later, or give the request a longer timeout",
                RestStatus.TOO_MANY_REQUESTS);
    }

    /** Fails the batch's own thread of work when the deadline passed (the timer answered the client already). */
    void check(long nowNanos, String model, int texts) {
        if (claimed() || expired(nowNanos)) {
            throw exceeded(model, texts, false);
        }
    }
}

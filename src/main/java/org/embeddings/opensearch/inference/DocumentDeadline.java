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
    private final String longer;
    private final AtomicBoolean claimed = new AtomicBoolean();
    private volatile boolean started;

    private DocumentDeadline(long deadlineNanos, TimeValue limit, String source, String longer) {
        this.deadlineNanos = deadlineNanos;
        this.limit = limit;
        this.source = source;
        this.longer = longer;
    }

    /** The deadline of a batch that works for a bulk with {@code timeout}, which ends at {@code nanos}. */
    static DocumentDeadline ofBulk(long nanos, TimeValue timeout) {
        return new DocumentDeadline(nanos, timeout, "the bulk's timeout", "give the bulk a longer [timeout]");
    }

    /** The deadline of a batch queued at {@code queuedNanos} with no bulk of its own: the node's limit. */
    static DocumentDeadline ofNode(long queuedNanos, TimeValue limit) {
        return new DocumentDeadline(
                queuedNanos + limit.nanos(), limit, "embeddings.document.timeout", "raise embeddings.document.timeout");
    }

    /** The batch left the lane's queue and began encoding; a deadline passed after this is its own work's. */
    void started() {
        started = true;
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

    /**
     * The failure of a batch whose deadline passed: a 429, whose reason says whether the batch waited behind others
     * (retrying later helps) or began and its own texts take longer than the limit on this node (only a smaller
     * batch or a longer limit helps).
     */
    OpenSearchStatusException exceeded(String model, int texts, boolean stillLoading) {
        String why;
        if (stillLoading) {
            why = "model [" + model + "] is still loading; retry later, or " + longer;
        } else if (started) {
            why = "encoding " + (texts == 1 ? "it" : "them") + " takes longer than that on this node; send fewer or"
                    + " shorter texts at a time, or " + longer;
        } else {
            why = "it waited behind other batches in the document lane; retry later, or " + longer;
        }
        return new OpenSearchStatusException(
                "encoding " + texts + (texts == 1 ? " text" : " texts") + " with model [" + model
                        + "] did not finish within " + source + " [" + limit + "]: " + why,
                RestStatus.TOO_MANY_REQUESTS);
    }

    /** Fails the batch's own thread of work when the deadline passed (the timer answered the client already). */
    void check(long nowNanos, String model, int texts) {
        if (claimed() || expired(nowNanos)) {
            throw exceeded(model, texts, false);
        }
    }
}

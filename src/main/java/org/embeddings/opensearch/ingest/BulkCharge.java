package org.embeddings.opensearch.ingest;

import org.opensearch.common.lease.Releasable;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.breaker.CircuitBreakingException;

/**
 * The bytes one bulk's {@code embed} vectors hold on this node, charged to the plugin's circuit breaker
 * ({@value #BREAKER}): reserved a slice at a time before the slice is encoded, kept while the bulk holds the vectors
 * (in its ingest documents, then in its index requests' JSON sources, until its shards answer), and released
 * together when the bulk is answered ({@link BulkChargeFilter}), or at once for a document that fails.
 *
 * <p>A processor finds its bulk's charge in the thread context ({@link #current}); a pipeline run outside a bulk
 * ({@code _simulate}) gets a charge of its own, closed when the processor is done. A reservation past the breaker's
 * limit (or the parent breaker's) throws {@link CircuitBreakingException}, a 429, and holds nothing. Thread-safe;
 * closing is idempotent, and a reservation after closing is released at once, so nothing leaks from a bulk
 * answered before its last slice came back.
 */
public final class BulkCharge implements Releasable {
    /** The plugin's circuit breaker, as {@code GET _nodes/stats/breaker} names it. */
    public static final String BREAKER = "embeddings";
    /** Where {@link BulkChargeFilter} leaves a bulk's charge for its processors. */
    static final String TRANSIENT = "_embeddings_bulk_charge";
    /** The setting of the breaker's limit, named in every refusal. */
    public static final String LIMIT_SETTING = "embeddings.breaker.limit";

    private final CircuitBreaker breaker;
    private long bytes;
    private boolean closed;

    public BulkCharge(CircuitBreaker breaker) {
        this.breaker = breaker;
    }

    /** The charge of the bulk whose thread context this is, or null outside a bulk. */
    static BulkCharge current(ThreadContext context) {
        return context == null ? null : context.getTransient(TRANSIENT);
    }

    /**
     * Reserves {@code n} bytes for {@code what}, or throws {@link CircuitBreakingException} (a 429 naming the breaker
     * and its setting) and reserves nothing.
     */
    public void reserve(long n, String what) {
        if (n <= 0) {
            return;
        }
        try {
            breaker.addEstimateBytesAndMaybeBreak(n, what);
        } catch (CircuitBreakingException e) {
            throw new CircuitBreakingException(
                    "[embed] " + what + " would take the vectors in flight on this node past their limit: "
                            + e.getMessage() + "; retry later or in smaller bulks, or raise [" + LIMIT_SETTING + "]",
                    e.getBytesWanted(),
                    e.getByteLimit(),
                    e.getDurability());
        }
        boolean late;
        synchronized (this) {
            late = closed;
            if (late == false) {
                bytes += n;
            }
        }
        if (late) {
            breaker.addWithoutBreaking(-n);
        }
    }

    /** Gives back {@code n} of the reserved bytes (a document that failed, an estimate that was too high). */
    public void release(long n) {
        long given;
        synchronized (this) {
            given = Math.min(n, bytes);
            bytes -= given;
        }
        if (given > 0) {
            breaker.addWithoutBreaking(-given);
        }
    }

    /** The bytes this charge holds now. */
    public synchronized long bytes() {
        return bytes;
    }

    /** Gives back everything; later reservations are given back as soon as they are made. */
    @Override
    public void close() {
        long given;
        synchronized (this) {
            closed = true;
            given = bytes;
            bytes = 0;
        }
        if (given > 0) {
            breaker.addWithoutBreaking(-given);
        }
    }
}

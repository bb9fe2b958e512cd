package org.embeddings.opensearch.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.action.ActionListener;

/**
 * One query text waiting for its vector, with its cache key and the moment past which its search no longer wants it.
 * Its listener is completed exactly once, whichever comes first: the vector, a failure of its batch, or its deadline.
 */
final class PendingQuery {
    final String text;
    final QueryVectorCache.Key key;
    final TimeValue limit;
    private final long deadlineNanos;
    private final ActionListener<float[]> listener;
    private final AtomicBoolean completed = new AtomicBoolean();

    /** A query that may wait for its vector at most {@code limit} from now. */
    PendingQuery(String text, QueryVectorCache.Key key, TimeValue limit, ActionListener<float[]> listener) {
        this.text = text;
        this.key = key;
        this.limit = limit;
        this.deadlineNanos = System.nanoTime() + limit.nanos();
        this.listener = listener;
    }

    boolean expired(long nowNanos) {
        return nowNanos - deadlineNanos >= 0;
    }

    boolean done() {
        return completed.get();
    }

    /** Completes with the vector; false when the query was already completed (by its deadline, say). */
    boolean respond(float[] vector) {
        if (completed.compareAndSet(false, true) == false) {
            return false;
        }
        listener.onResponse(vector);
        return true;
    }

    boolean fail(Exception e) {
        if (completed.compareAndSet(false, true) == false) {
            return false;
        }
        listener.onFailure(e);
        return true;
    }
}

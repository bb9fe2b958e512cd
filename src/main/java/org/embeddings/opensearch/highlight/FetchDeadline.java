package org.embeddings.opensearch.highlight;

import org.opensearch.common.unit.TimeValue;
import org.opensearch.index.shard.SearchOperationListener;
import org.opensearch.search.internal.SearchContext;

/**
 * The deadline of the fetch phase running on the current thread: its search's {@code timeout}, counted from the
 * start of the phase. A highlighter sees no search context, only the fetch context, so this listener (registered on
 * every index) notes the deadline when a fetch phase starts on a thread and forgets it when the phase ends there;
 * fetch-time inference waits for its vectors until then at most.
 */
public final class FetchDeadline implements SearchOperationListener {
    private final ThreadLocal<Long> deadline = new ThreadLocal<>();

    @Override
    public void onPreFetchPhase(SearchContext context) {
        TimeValue timeout = context.timeout();
        if (timeout != null && timeout.nanos() > 0) {
            deadline.set(System.nanoTime() + timeout.nanos());
        } else {
            deadline.remove();
        }
    }

    @Override
    public void onFailedFetchPhase(SearchContext context) {
        deadline.remove();
    }

    @Override
    public void onFetchPhase(SearchContext context, long tookInNanos) {
        deadline.remove();
    }

    /** Nanoseconds left to the current fetch phase, or {@code fallback} when its search set no timeout. */
    public long remainingNanos(TimeValue fallback) {
        Long at = deadline.get();
        return at == null ? fallback.nanos() : at - System.nanoTime();
    }
}

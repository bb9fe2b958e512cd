package org.embeddings.opensearch.highlight;

import org.opensearch.common.unit.TimeValue;
import org.opensearch.index.shard.SearchOperationListener;
import org.opensearch.search.internal.SearchContext;

/**
 * The deadline of the fetch phase running on the current thread: its search's {@code timeout}, else the caller's
 * fallback ({@code embeddings.query.timeout}), both counted from the start of the phase. A highlighter sees no search
 * context, only the fetch context, so this listener (registered on every index) notes when a fetch phase starts on a
 * thread and forgets it when the phase ends there; fetch-time inference waits for its vectors until then at most.
 *
 * <p>The budget is the phase's, not each hit's: a search of a thousand hits that encodes each hit's sentences holds
 * its search thread for one timeout at most, and the hits past it get no fragments, rather than a timeout per hit
 * (a minute and more with no search timeout, measured in docs/passages.md).
 */
public final class FetchDeadline implements SearchOperationListener {
    /** When the phase started, and its search's timeout in nanoseconds (0: none, the caller's fallback applies). */
    private record Phase(long startNanos, long timeoutNanos) {}

    private final ThreadLocal<Phase> phase = new ThreadLocal<>();

    @Override
    public void onPreFetchPhase(SearchContext context) {
        TimeValue timeout = context.timeout();
        phase.set(new Phase(System.nanoTime(), timeout != null && timeout.nanos() > 0 ? timeout.nanos() : 0));
    }

    @Override
    public void onFailedFetchPhase(SearchContext context) {
        phase.remove();
    }

    @Override
    public void onFetchPhase(SearchContext context, long tookInNanos) {
        phase.remove();
    }

    /**
     * Nanoseconds left to the current fetch phase: of its search's timeout, or of {@code fallback} when the search set
     * none; {@code fallback} whole outside a fetch phase.
     */
    public long remainingNanos(TimeValue fallback) {
        Phase at = phase.get();
        if (at == null) {
            return fallback.nanos();
        }
        long budget = at.timeoutNanos() > 0 ? at.timeoutNanos() : fallback.nanos();
        return at.startNanos() + budget - System.nanoTime();
    }
}

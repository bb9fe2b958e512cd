package org.embeddings.opensearch.ingest;

import java.util.function.Supplier;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.bulk.BulkAction;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.tasks.Task;

/**
 * Gives every bulk that reaches this node a {@link BulkCharge} in its thread context, and closes it when the bulk is
 * answered: the vectors its {@code embed} processors wrote stay charged to the breaker for as long as the bulk holds
 * them, which is until then (its ingest documents, then its index requests' JSON sources).
 *
 * <p>Single-document index requests run as one-item bulks and pass here too. The bulk's ingest runs on the write pool
 * in a copy of this thread context, so the charge reaches the processors; the context of the calling thread is
 * restored after dispatch. A bulk forwarded to an ingest node gets its charge there. A nested bulk keeps its
 * outermost charge.
 */
public final class BulkChargeFilter implements ActionFilter {
    private final Supplier<ThreadContext> threadContext;
    private final Supplier<CircuitBreaker> breaker;

    public BulkChargeFilter(Supplier<ThreadContext> threadContext, Supplier<CircuitBreaker> breaker) {
        this.threadContext = threadContext;
        this.breaker = breaker;
    }

    @Override
    public int order() {
        // after security filters: a refused bulk never holds a charge
        return Integer.MAX_VALUE;
    }

    @Override
    public <Request extends ActionRequest, Response extends ActionResponse> void apply(
            Task task,
            String action,
            Request request,
            ActionListener<Response> listener,
            ActionFilterChain<Request, Response> chain) {
        ThreadContext context = threadContext.get();
        CircuitBreaker circuitBreaker = breaker.get();
        if (BulkAction.NAME.equals(action) == false
                || context == null
                || circuitBreaker == null
                || BulkCharge.current(context) != null) {
            chain.proceed(task, action, request, listener);
            return;
        }
        BulkCharge charge = new BulkCharge(circuitBreaker);
        try (ThreadContext.StoredContext previous = context.newStoredContext(true)) {
            context.putTransient(BulkCharge.TRANSIENT, charge);
            chain.proceed(task, action, request, ActionListener.runBefore(listener, charge::close));
        }
    }
}

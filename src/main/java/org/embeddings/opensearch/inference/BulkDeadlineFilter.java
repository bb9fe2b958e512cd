package org.embeddings.opensearch.inference;

import java.util.function.Supplier;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.bulk.BulkAction;
import org.opensearch.action.bulk.BulkRequest;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.tasks.Task;

/**
 * Puts a bulk's deadline (now plus its {@code timeout}) into the thread context of the bulk it dispatches, so that the
 * {@code embed} processor's encodes, which run in that context (ingest and the plugin's pools preserve it) but see no
 * request, fail at the bulk's deadline instead of waiting in the document lane for ever ({@link InferenceService}).
 * A bulk forwarded to an ingest node passes this filter again there, with its own timeout.
 *
 * <p>The transient lives only while the bulk is dispatched from this thread (the previous context is restored after)
 * and in the contexts the bulk's own async steps preserve; a bulk inside another keeps the outer deadline.
 */
public final class BulkDeadlineFilter implements ActionFilter {
    static final String TRANSIENT = "_embeddings_bulk_deadline";

    /** A bulk's deadline in {@link System#nanoTime()}, and the timeout it came from. */
    public record Deadline(long nanos, TimeValue timeout) {}

    private final Supplier<ThreadContext> threadContext;

    public BulkDeadlineFilter(Supplier<ThreadContext> threadContext) {
        this.threadContext = threadContext;
    }

    /** The deadline of the bulk the calling code runs for, or null outside a bulk. */
    public Deadline current() {
        ThreadContext context = threadContext.get();
        return context == null ? null : context.getTransient(TRANSIENT);
    }

    @Override
    public int order() {
        // after security filters, which run first (lowest order)
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
        TimeValue timeout =
                BulkAction.NAME.equals(action) && request instanceof BulkRequest bulk ? bulk.timeout() : null;
        if (timeout == null || context == null || context.getTransient(TRANSIENT) != null) {
            chain.proceed(task, action, request, listener);
            return;
        }
        try (ThreadContext.StoredContext previous = context.newStoredContext(true)) {
            context.putTransient(TRANSIENT, new Deadline(System.nanoTime() + timeout.nanos(), timeout));
            chain.proceed(task, action, request, listener);
        }
    }
}

package org.embeddings.opensearch.query;

import java.util.function.Supplier;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.search.SearchAction;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.tasks.TaskId;
import org.opensearch.tasks.Task;
import org.opensearch.transport.client.Client;

/**
 * Puts the coordinating node's search task into the thread context of the search it runs, so that work the search's
 * query rewrite starts on its behalf (global {@code fusion}'s sub-searches) can register as that task's children:
 * cancelled with it, and listed under it. Query builders see no task; this filter is where one is at hand.
 *
 * <p>The transient lives only while the search is dispatched from this thread (the previous context is restored
 * after) and in the contexts the search's own async steps preserve; a nested search keeps its outermost task.
 */
public final class SearchTaskFilter implements ActionFilter {
    static final String TRANSIENT = "_embeddings_search_task";

    private final Supplier<ThreadContext> threadContext;
    private final Supplier<String> localNodeId;

    public SearchTaskFilter(Supplier<ThreadContext> threadContext, Supplier<String> localNodeId) {
        this.threadContext = threadContext;
        this.localNodeId = localNodeId;
    }

    /** The search task the calling code runs for, if a search set it. */
    static TaskId currentSearchTask(Client client) {
        TaskId task = client.threadPool().getThreadContext().getTransient(TRANSIENT);
        return task == null ? TaskId.EMPTY_TASK_ID : task;
    }

    @Override
    public int order() {
        // after security filters, which run first (lowest order), so the task is only recorded for permitted searches
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
        if (task == null
                || SearchAction.NAME.equals(action) == false
                || context == null
                || context.getTransient(TRANSIENT) != null) {
            chain.proceed(task, action, request, listener);
            return;
        }
        try (ThreadContext.StoredContext previous = context.newStoredContext(true)) {
            context.putTransient(TRANSIENT, new TaskId(localNodeId.get(), task.getId()));
            chain.proceed(task, action, request, listener);
        }
    }
}

package org.embeddings.opensearch.ingest;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.opensearch.action.get.MultiGetItemResponse;
import org.opensearch.action.get.MultiGetRequest;
import org.opensearch.action.get.MultiGetResponse;
import org.opensearch.action.support.ContextPreservingActionListener;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.search.fetch.subphase.FetchSourceContext;
import org.opensearch.transport.client.Client;

/**
 * The stored versions of some documents of a slice, read with one multi-get: each document by its concrete write
 * index, id and routing, realtime (a version indexed a moment ago but not yet refreshed counts), its source filtered
 * to the paths the processor compares ({@code _embeddings} and its targets), vectors restored from the vector files.
 *
 * <p>The multi-get runs as the node, not as the caller (its thread context stashed): a user who may write an index
 * need not be allowed to read it, and nothing read is returned to anyone, only compared with the digests of the texts
 * the user sent. A missing index or document, or any failure, is simply no previous version: its texts are encoded.
 * The listener runs on the generic pool with the caller's context restored, never on a transport thread.
 */
final class PreviousVersions {
    /** One document to read. */
    record Key(String index, String id, String routing) {}

    private final Supplier<Client> client;
    private final Supplier<ThreadContext> threadContext;
    private final Consumer<Runnable> generic;

    PreviousVersions(Supplier<Client> client, Supplier<ThreadContext> threadContext, Consumer<Runnable> generic) {
        this.client = client;
        this.threadContext = threadContext;
        this.generic = generic;
    }

    /** Whether multi-gets can run here (a node, not a bare test of the processor). */
    boolean available() {
        return client.get() != null && threadContext.get() != null && generic != null;
    }

    /** The sources of the documents that exist, by key; never fails. */
    void read(List<Key> keys, String[] includes, ActionListener<Map<Key, Map<String, Object>>> listener) {
        if (keys.isEmpty()) {
            listener.onResponse(Map.of());
            return;
        }
        MultiGetRequest request = new MultiGetRequest().realtime(true);
        FetchSourceContext source = new FetchSourceContext(true, includes, null);
        for (Key key : keys) {
            request.add(new MultiGetRequest.Item(key.index(), key.id())
                    .routing(key.routing())
                    .fetchSourceContext(source));
        }
        ThreadContext context = threadContext.get();
        ActionListener<MultiGetResponse> forked = new ActionListener<>() {
            @Override
            public void onResponse(MultiGetResponse response) {
                generic.accept(() -> listener.onResponse(sources(keys, response)));
            }

            @Override
            public void onFailure(Exception e) {
                generic.accept(() -> listener.onResponse(Map.of()));
            }
        };
        Supplier<ThreadContext.StoredContext> restore = context.newRestorableContext(false);
        try (ThreadContext.StoredContext ignored = context.stashContext()) {
            client.get().multiGet(request, new ContextPreservingActionListener<>(restore, forked));
        } catch (RuntimeException e) {
            listener.onResponse(Map.of());
        }
    }

    private static Map<Key, Map<String, Object>> sources(List<Key> keys, MultiGetResponse response) {
        Map<Key, Map<String, Object>> out = new HashMap<>();
        MultiGetItemResponse[] items = response.getResponses();
        for (int i = 0; i < items.length && i < keys.size(); i++) {
            MultiGetItemResponse item = items[i];
            if (item.isFailed() == false
                    && item.getResponse().isExists()
                    && item.getResponse().isSourceEmpty() == false) {
                out.put(keys.get(i), item.getResponse().getSourceAsMap());
            }
        }
        return out;
    }
}

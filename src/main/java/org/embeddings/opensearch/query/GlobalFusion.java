package org.embeddings.opensearch.query;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.embeddings.lucene.ScoreFusion;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.action.IndicesRequest;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.search.ShardSearchFailure;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.transport.client.Client;
import org.opensearch.transport.client.ParentTaskAssigningClient;

/**
 * The coordinating node's half of a global {@code fusion}: one search per sub-query over the same indices (with the
 * same routing, preference, indices options, search type and timeout as the user's request) for its top window of
 * ids and scores, run concurrently; then the windows are fused by document ({@code _index}, {@code _id}) and the
 * fused scores handed back grouped by index.
 *
 * <p>The sub-searches run in the caller's thread context (so a security plugin sees the caller's user) as children
 * of the user's search task ({@link SearchTaskFilter}): cancelling the search cancels them. A window with failed
 * shards or that timed out fails the fusion with the shards' reasons: fusing it would rank without the missing
 * documents and say nothing.
 */
final class GlobalFusion {
    private record DocKey(String index, String id) {}

    private GlobalFusion() {}

    static void run(
            Client client,
            IndicesRequest target,
            List<QueryBuilder> queries,
            ScoreFusion fusion,
            int windowSize,
            float[] weights,
            ActionListener<Map<String, Map<String, Float>>> listener) {
        AtomicReferenceArray<SearchResponse> responses = new AtomicReferenceArray<>(queries.size());
        AtomicInteger pending = new AtomicInteger(queries.size());
        ActionListener<Void> done =
                ActionListener.wrap(v -> listener.onResponse(fuse(responses, fusion, weights)), listener::onFailure);
        Client children = new ParentTaskAssigningClient(client, SearchTaskFilter.currentSearchTask(client));
        for (int i = 0; i < queries.size(); i++) {
            int slot = i;
            children.search(
                    window(target, queries.get(i), windowSize),
                    ActionListener.wrap(
                            response -> {
                                OpenSearchStatusException incomplete = incomplete(slot, response);
                                if (incomplete != null) {
                                    throw incomplete;
                                }
                                responses.set(slot, response);
                                if (pending.decrementAndGet() == 0) {
                                    done.onResponse(null);
                                }
                            },
                            e -> {
                                if (pending.getAndSet(-1) > 0) {
                                    listener.onFailure(e);
                                }
                            }));
        }
    }

    private static SearchRequest window(IndicesRequest target, QueryBuilder query, int windowSize) {
        SearchRequest request = new SearchRequest(target.indices()).indicesOptions(target.indicesOptions());
        SearchSourceBuilder source = new SearchSourceBuilder()
                .query(query)
                .size(windowSize)
                .fetchSource(false)
                .trackTotalHits(false);
        if (target instanceof SearchRequest user) {
            request.routing(user.routing()).preference(user.preference()).searchType(user.searchType());
            if (user.source() != null && user.source().timeout() != null) {
                source.timeout(user.source().timeout());
            }
        }
        return request.source(source);
    }

    /** The error for a window that misses shards, or null when the window is whole. */
    private static OpenSearchStatusException incomplete(int slot, SearchResponse response) {
        ShardSearchFailure[] failures = response.getShardFailures();
        if (failures.length == 0 && response.isTimedOut() == false) {
            return null;
        }
        String why = failures.length > 0
                ? failures.length + " of " + response.getTotalShards() + " shards failed: " + failures[0].reason()
                : "it timed out";
        RestStatus status = failures.length > 0 ? failures[0].status() : RestStatus.GATEWAY_TIMEOUT;
        OpenSearchStatusException e = new OpenSearchStatusException(
                "[fusion] the window of sub-query [" + slot + "] is incomplete (" + why
                        + "); fusion does not rank what it did not see",
                status);
        for (ShardSearchFailure failure : failures) {
            if (failure.getCause() != null) {
                e.addSuppressed(failure.getCause());
            }
        }
        return e;
    }

    private static Map<String, Map<String, Float>> fuse(
            AtomicReferenceArray<SearchResponse> responses, ScoreFusion fusion, float[] weights) {
        List<List<DocKey>> keys = new ArrayList<>();
        List<float[]> scores = new ArrayList<>();
        for (int i = 0; i < responses.length(); i++) {
            SearchHit[] hits = responses.get(i).getHits().getHits();
            List<DocKey> window = new ArrayList<>(hits.length);
            float[] s = new float[hits.length];
            for (int h = 0; h < hits.length; h++) {
                window.add(new DocKey(hits[h].getIndex(), hits[h].getId()));
                s[h] = hits[h].getScore();
            }
            keys.add(window);
            scores.add(s);
        }
        Map<String, Map<String, Float>> byIndex = new HashMap<>();
        ScoreFusion.fuse(fusion, keys, scores, weights)
                .forEach((key, score) -> byIndex.computeIfAbsent(key.index(), i -> new HashMap<>())
                        .put(key.id(), score));
        return byIndex;
    }
}

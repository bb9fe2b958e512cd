package org.embeddings.opensearch.query;

import org.embeddings.lucene.ScoreFusion;
import org.opensearch.action.IndicesRequest;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.core.action.ActionListener;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.transport.client.Client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The coordinating node's half of a global {@code fusion}: one search per sub-query over the same indices (with the
 * same routing, preference, indices options and search type as the user's request) for its top window of ids and
 * scores, run concurrently; then the windows are fused by document ({@code _index}, {@code _id}) and the fused
 * scores handed back grouped by index.
 */
final class GlobalFusion {
    private record DocKey(String index, String id) {}

    private GlobalFusion() {}

    static void run(
        Client client,
        IndicesRequest target,
        List<QueryBuilder> queries,
        FusionQueryBuilder.Spec spec,
        ActionListener<Map<String, Map<String, Float>>> listener
    ) {
        AtomicReferenceArray<SearchResponse> responses = new AtomicReferenceArray<>(queries.size());
        AtomicInteger pending = new AtomicInteger(queries.size());
        ActionListener<Void> done = ActionListener.wrap(v -> listener.onResponse(fuse(responses, spec)), listener::onFailure);
        for (int i = 0; i < queries.size(); i++) {
            int slot = i;
            client.search(window(target, queries.get(i), spec.windowSize()), ActionListener.wrap(response -> {
                responses.set(slot, response);
                if (pending.decrementAndGet() == 0) {
                    done.onResponse(null);
                }
            }, e -> {
                if (pending.getAndSet(-1) > 0) {
                    listener.onFailure(e);
                }
            }));
        }
    }

    private static SearchRequest window(IndicesRequest target, QueryBuilder query, int windowSize) {
        SearchRequest request = new SearchRequest(target.indices()).indicesOptions(target.indicesOptions());
        if (target instanceof SearchRequest user) {
            request.routing(user.routing()).preference(user.preference()).searchType(user.searchType());
        }
        request.source(new SearchSourceBuilder().query(query).size(windowSize).fetchSource(false).trackTotalHits(false));
        return request;
    }

    private static Map<String, Map<String, Float>> fuse(AtomicReferenceArray<SearchResponse> responses, FusionQueryBuilder.Spec spec) {
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
        ScoreFusion.fuse(spec.fusion(), keys, scores, spec.weights())
            .forEach((key, score) -> byIndex.computeIfAbsent(key.index(), i -> new HashMap<>()).put(key.id(), score));
        return byIndex;
    }
}

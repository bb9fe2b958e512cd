package org.embeddings.testkit;

import com.google.gson.JsonElement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * nDCG@k and Recall@k as pytrec_eval (trec_eval) computes them: the run is ordered by score descending, ties by
 * document id descending; gain is the judged relevance; DCG uses log2(rank + 1); the ideal DCG ranks all judged
 * relevant documents of the query by relevance. Queries are averaged with equal weight.
 */
public final class RetrievalMetrics {
    private RetrievalMetrics() {}

    /** One retrieved document and its score. */
    public record Hit(String id, double score) {}

    /** The ids and scores of a search response's hits, in its order. */
    public static List<Hit> hits(JsonElement searchResponse) {
        List<Hit> run = new ArrayList<>();
        searchResponse
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> run.add(new Hit(
                        h.getAsJsonObject().get("_id").getAsString(),
                        h.getAsJsonObject().get("_score").getAsDouble())));
        return run;
    }

    /** The run in trec_eval's order: score descending, ties by document id descending. */
    public static List<Hit> ordered(List<Hit> run) {
        return run.stream()
                .sorted(Comparator.comparingDouble(Hit::score)
                        .reversed()
                        .thenComparing(Hit::id, Comparator.reverseOrder()))
                .toList();
    }

    /** The exact-search score of two unit vectors (every model here normalizes): their dot product. */
    public static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    public static double ndcg(List<Hit> run, Map<String, Integer> qrels, int k) {
        List<Hit> hits = ordered(run);
        double dcg = 0;
        for (int i = 0; i < Math.min(k, hits.size()); i++) {
            int rel = qrels.getOrDefault(hits.get(i).id(), 0);
            dcg += rel / (Math.log(i + 2) / Math.log(2));
        }
        List<Integer> ideal = qrels.values().stream()
                .filter(r -> r > 0)
                .sorted(Comparator.reverseOrder())
                .toList();
        double idcg = 0;
        for (int i = 0; i < Math.min(k, ideal.size()); i++) {
            idcg += ideal.get(i) / (Math.log(i + 2) / Math.log(2));
        }
        return idcg == 0 ? 0 : dcg / idcg;
    }

    public static double recall(List<Hit> run, Map<String, Integer> qrels, int k) {
        long relevant = qrels.values().stream().filter(r -> r > 0).count();
        if (relevant == 0) {
            return 0;
        }
        List<Hit> hits = ordered(run);
        long found = hits.stream()
                .limit(k)
                .filter(h -> qrels.getOrDefault(h.id(), 0) > 0)
                .count();
        return (double) found / relevant;
    }

    /** The fraction of the top {@code k} document ids of {@code a} that are also in the top {@code k} of {@code b}. */
    public static double overlap(List<Hit> a, List<Hit> b, int k) {
        List<String> top = ordered(a).stream().limit(k).map(Hit::id).toList();
        if (top.isEmpty()) {
            return 1;
        }
        Set<String> other =
                new HashSet<>(ordered(b).stream().limit(k).map(Hit::id).toList());
        return (double) top.stream().filter(other::contains).count() / top.size();
    }
}

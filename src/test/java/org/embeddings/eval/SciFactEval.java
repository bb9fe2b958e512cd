package org.embeddings.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.BulkIngest;
import org.embeddings.testkit.Progress;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RetrievalMetrics;

/**
 * Runs a BEIR-format dataset (SciFact by default) through a real node: creates an index whose {@code embedding}
 * field is bound to the model, an {@code embed} pipeline, bulk-ingests the corpus (text = title + " " + text, as MTEB
 * does), runs every test query through {@code embed_knn} (HNSW with default parameters, and exact search), BM25
 * ({@code match}) and {@code fusion} of the two (RRF, and linear over min-max normalized scores), and prints
 * nDCG@10 and Recall@100 computed as pytrec_eval does, and the mean server time per query. It then reindexes the
 * same vectors into 3 shards and prints how far per-shard fusion moves the top 10.
 *
 * <p>Usage: {@code src/scripts/eval.sh scifact MODEL [DATA_DIR]}
 */
public final class SciFactEval {
    private static final int BULK = 64;

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        Path data = Path.of(args.length > 1 ? args[1] : "../shared/data/scifact");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        try (RealNode node = RealNode.start("eval-" + model, Integer.getInteger("eval.port", RealNode.port(50)))) {
            node.installModel(models, model);
            new SciFactEval(node, model, data).run();
        }
    }

    private final RealNode node;
    private final String model;
    private final Path data;

    SciFactEval(RealNode node, String model, Path data) {
        this.node = node;
        this.model = model;
        this.data = data;
    }

    void run() throws Exception {
        String index = "beir-" + model.replace('.', '_');
        check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
        check(node.call("PUT", "/_ingest/pipeline/beir", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));

        BeirSet set = BeirSet.read(data);
        // -Deval.limit=N ingests only the first N documents: a smoke run of the whole command, not a score.
        Map<String, String> corpus = new LinkedHashMap<>();
        set.bodies().entrySet().stream()
                .limit(Integer.getInteger("eval.limit", set.corpus().size()))
                .forEach(e -> corpus.put(e.getKey(), e.getValue()));
        double ingestSeconds = BulkIngest.bodies(node, index, "beir", corpus, BULK, "ingest");
        Map<String, Map<String, Integer>> qrels = set.qrels();
        Map<String, String> queries = set.queries();
        System.out.printf(
                Locale.ROOT,
                "%n%s on %s: %d documents ingested in %.1f s (%.1f docs/s), %d queries%n",
                model,
                data.getFileName(),
                corpus.size(),
                ingestSeconds,
                corpus.size() / ingestSeconds,
                queries.size());
        Map<String, Map<String, List<RetrievalMetrics.Hit>>> oneShard = evaluate(index, queries, qrels, false);

        // The same vectors in 3 shards (reindexed from _source, no inference): fusion is per shard, so say by how much
        // that moves the results.
        String sharded = index + "-3shards";
        check(node.call("PUT", "/" + sharded, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 3, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
        check(node.call(
                "POST",
                "/_reindex?refresh=true&wait_for_completion=true",
                String.format(Locale.ROOT, """
            {"source": {"index": "%s"}, "dest": {"index": "%s"}}""", index, sharded)));
        System.out.printf(Locale.ROOT, "%nsame documents in 3 shards:%n");
        Map<String, Map<String, List<RetrievalMetrics.Hit>>> threeShards = evaluate(sharded, queries, qrels, true);
        System.out.printf(Locale.ROOT, "%-36s %18s%n", "method", "top-10 overlap with 1 shard");
        for (String method : threeShards.keySet()) {
            String reference = method.replace(" (scope shard)", "");
            double overlap = 0;
            for (String q : queries.keySet()) {
                overlap += RetrievalMetrics.overlap(
                        oneShard.get(reference).get(q), threeShards.get(method).get(q), 10);
            }
            System.out.printf(Locale.ROOT, "%-36s %17.1f%%%n", method, 100 * overlap / queries.size());
        }
    }

    /** Every method over every query: prints nDCG@10, Recall@100 and mean server time; returns the runs. */
    private Map<String, Map<String, List<RetrievalMetrics.Hit>>> evaluate(
            String index, Map<String, String> queries, Map<String, Map<String, Integer>> qrels, boolean sharded)
            throws Exception {
        Map<String, Function<String, String>> methods = new LinkedHashMap<>();
        methods.put("embed_knn (hnsw)", text -> knn(text, false));
        methods.put("embed_knn (exact)", text -> knn(text, true));
        methods.put("bm25", SciFactEval::match);
        methods.put("fusion rrf", text -> String.format(Locale.ROOT, """
            {"fusion": {"queries": [%s, %s], "method": "rrf", "window_size": 100}}""", match(text), knn(text, false)));
        methods.put("fusion linear min_max", text -> String.format(Locale.ROOT, """
            {"fusion": {"queries": [%s, %s], "method": "linear", "normalization": "min_max", "window_size": 100}}""", match(text), knn(text, false)));
        if (sharded) {
            // on one shard the two scopes are the same computation; on three they are not
            methods.put(
                    "fusion rrf (scope shard)", text -> String.format(Locale.ROOT, """
                {"fusion": {"queries": [%s, %s], "method": "rrf", "window_size": 100, "scope": "shard"}}""", match(text), knn(text, false)));
            methods.put(
                    "fusion linear min_max (scope shard)",
                    text -> String.format(Locale.ROOT, """
                {"fusion": {"queries": [%s, %s], "method": "linear", "normalization": "min_max", "window_size": 100, "scope": "shard"}}""", match(text), knn(text, false)));
        }
        Map<String, Map<String, List<RetrievalMetrics.Hit>>> runs = new LinkedHashMap<>();
        Map<String, double[]> sums = new LinkedHashMap<>();
        methods.keySet().forEach(m -> {
            runs.put(m, new HashMap<>());
            sums.put(m, new double[3]);
        });
        int n = 0;
        long start = System.nanoTime();
        for (Map.Entry<String, String> q : queries.entrySet()) {
            // encode the query once, untimed: every method below then finds its vector in the node's query cache, so
            // the server times compare search work, not who paid for inference
            search(index, knn(q.getValue(), false), new double[3]);
            for (Map.Entry<String, Function<String, String>> m : methods.entrySet()) {
                double[] sum = sums.get(m.getKey());
                List<RetrievalMetrics.Hit> run = search(index, m.getValue().apply(q.getValue()), sum);
                accumulate(sum, run, qrels.get(q.getKey()));
                runs.get(m.getKey()).put(q.getKey(), run);
            }
            Progress.print("queries", ++n, queries.size(), start);
        }
        System.err.println();
        System.out.printf(Locale.ROOT, "%-36s %10s %12s %14s%n", "method", "nDCG@10", "Recall@100", "took ms/query");
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            double[] s = e.getValue();
            System.out.printf(
                    Locale.ROOT, "%-36s %10.2f %12.2f %14.1f%n", e.getKey(), 100 * s[0] / n, 100 * s[1] / n, s[2] / n);
        }
        return runs;
    }

    private String knn(String text, boolean exact) {
        JsonObject params = new JsonObject();
        params.addProperty("query_text", text);
        params.addProperty("k", 100);
        if (exact) {
            params.addProperty("exact", true);
        }
        JsonObject field = new JsonObject();
        field.add("vec", params);
        JsonObject query = new JsonObject();
        query.add("embed_knn", field);
        return query.toString();
    }

    private static String match(String text) {
        JsonObject body = new JsonObject();
        body.addProperty("body", text);
        JsonObject query = new JsonObject();
        query.add("match", body);
        return query.toString();
    }

    private static void accumulate(double[] sums, List<RetrievalMetrics.Hit> run, Map<String, Integer> qrels) {
        sums[0] += RetrievalMetrics.ndcg(run, qrels, 10);
        sums[1] += RetrievalMetrics.recall(run, qrels, 100);
    }

    private List<RetrievalMetrics.Hit> search(String index, String query, double[] sums) throws Exception {
        JsonObject request = new JsonObject();
        request.addProperty("size", 100);
        request.addProperty("_source", false);
        request.add("query", JsonParser.parseString(query));
        RealNode.Response r = node.call("POST", "/" + index + "/_search", request.toString());
        check(r);
        sums[2] += r.body().getAsJsonObject().get("took").getAsDouble();
        return RetrievalMetrics.hits(r.body());
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text());
        }
    }
}

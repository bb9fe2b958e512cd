package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.embeddings.it.RealNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a BEIR-format dataset (SciFact by default) through a real node: creates an index whose {@code embedding}
 * field is bound to the model, an {@code embed} pipeline, bulk-ingests the corpus (text = title + " " + text, as MTEB
 * does), runs every test query through {@code embed_knn} (k = 1000 over ~5k documents, which HNSW answers as exact
 * search does) and through BM25 ({@code match}), and prints nDCG@10 and Recall@100 computed as pytrec_eval does.
 *
 * <p>Usage: {@code src/scripts/eval.sh scifact MODEL [DATA_DIR]}
 */
public final class SciFactEval {
    private static final int BULK = 64;

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        Path data = Path.of(args.length > 1 ? args[1] : "../shared/data/scifact");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        try (RealNode node = RealNode.start("eval-" + model, 19250)) {
            installModel(node, models, model);
            new SciFactEval(node, model, data).run();
        }
    }

    static void installModel(RealNode node, Path models, String model) throws Exception {
        Path target = node.dir().resolve("config/embeddings/models").resolve(model);
        Path source = models.resolve(model);
        if (Files.exists(node.dir().resolve("plugins/embeddings/models").resolve(model)) || Files.exists(source) == false) {
            return;
        }
        Files.createDirectories(target);
        for (String f : List.of("model.onnx", "tokenizer.json")) {
            Files.copy(source.resolve(f), target.resolve(f));
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
        check(node.call("PUT", "/" + index, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""".formatted(model)));
        check(node.call("PUT", "/_ingest/pipeline/beir", """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""".formatted(model)));

        List<String> corpus = Files.readAllLines(data.resolve("corpus.jsonl"));
        long start = System.nanoTime();
        StringBuilder bulk = new StringBuilder();
        int done = 0;
        for (String line : corpus) {
            JsonObject doc = JsonParser.parseString(line).getAsJsonObject();
            JsonObject source = new JsonObject();
            source.addProperty("body", doc.get("title").getAsString() + " " + doc.get("text").getAsString());
            bulk.append("{\"index\":{\"_id\":").append(doc.get("_id")).append("}}\n").append(source).append('\n');
            if (++done % BULK == 0 || done == corpus.size()) {
                RealNode.Response r = node.call("POST", "/" + index + "/_bulk?pipeline=beir", bulk.toString(), "application/x-ndjson");
                check(r);
                if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                    throw new IllegalStateException("bulk had errors: " + r.text().substring(0, Math.min(2000, r.text().length())));
                }
                bulk.setLength(0);
                progress("ingest", done, corpus.size(), start);
            }
        }
        System.err.println();
        double ingestSeconds = (System.nanoTime() - start) / 1e9;
        check(node.call("POST", "/" + index + "/_refresh", null));

        Map<String, Map<String, Integer>> qrels = new HashMap<>();
        List<String> qrelLines = Files.readAllLines(data.resolve("qrels/test.tsv"));
        for (String line : qrelLines.subList(1, qrelLines.size())) {
            String[] f = line.split("\t");
            qrels.computeIfAbsent(f[0], q -> new HashMap<>()).put(f[1], Integer.parseInt(f[2].trim()));
        }
        Map<String, String> queries = new LinkedHashMap<>();
        for (String line : Files.readAllLines(data.resolve("queries.jsonl"))) {
            JsonObject q = JsonParser.parseString(line).getAsJsonObject();
            if (qrels.containsKey(q.get("_id").getAsString())) {
                queries.put(q.get("_id").getAsString(), q.get("text").getAsString());
            }
        }
        double[] knn = new double[2];
        double[] bm25 = new double[2];
        int n = 0;
        start = System.nanoTime();
        for (Map.Entry<String, String> q : queries.entrySet()) {
            JsonObject knnQuery = new JsonObject();
            JsonObject params = new JsonObject();
            params.addProperty("query_text", q.getValue());
            params.addProperty("model", model);
            params.addProperty("k", 1000);
            JsonObject field = new JsonObject();
            field.add("vec", params);
            knnQuery.add("embed_knn", field);
            accumulate(knn, search(index, knnQuery), qrels.get(q.getKey()));

            JsonObject match = new JsonObject();
            JsonObject body = new JsonObject();
            body.addProperty("body", q.getValue());
            match.add("match", body);
            accumulate(bm25, search(index, match), qrels.get(q.getKey()));
            progress("queries", ++n, queries.size(), start);
        }
        System.err.println();
        System.out.printf("%n%s on %s: %d documents ingested in %.1f s (%.1f docs/s), %d queries%n", model, data.getFileName(), corpus.size(), ingestSeconds, corpus.size() / ingestSeconds, n);
        System.out.printf("%-12s %10s %12s%n", "method", "nDCG@10", "Recall@100");
        System.out.printf("%-12s %10.2f %12.2f%n", "embed_knn", 100 * knn[0] / n, 100 * knn[1] / n);
        System.out.printf("%-12s %10.2f %12.2f%n", "bm25", 100 * bm25[0] / n, 100 * bm25[1] / n);
    }

    private static void accumulate(double[] sums, List<RetrievalMetrics.Hit> run, Map<String, Integer> qrels) {
        sums[0] += RetrievalMetrics.ndcg(run, qrels, 10);
        sums[1] += RetrievalMetrics.recall(run, qrels, 100);
    }

    private List<RetrievalMetrics.Hit> search(String index, JsonObject query) throws Exception {
        JsonObject request = new JsonObject();
        request.addProperty("size", 100);
        request.addProperty("_source", false);
        request.add("query", query);
        RealNode.Response r = node.call("POST", "/" + index + "/_search", request.toString());
        check(r);
        JsonArray hits = r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
        List<RetrievalMetrics.Hit> run = new ArrayList<>();
        hits.forEach(h -> run.add(new RetrievalMetrics.Hit(h.getAsJsonObject().get("_id").getAsString(), h.getAsJsonObject().get("_score").getAsDouble())));
        return run;
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text());
        }
    }

    static void progress(String what, int done, int total, long startNanos) {
        int width = 40;
        int filled = (int) ((long) width * done / total);
        double rate = done / ((System.nanoTime() - startNanos) / 1e9);
        System.err.printf("\r%-8s [%s%s] %d/%d  %.1f/s", what, "=".repeat(filled), " ".repeat(width - filled), done, total, rate);
    }
}

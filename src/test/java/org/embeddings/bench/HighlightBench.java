package org.embeddings.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.LongDocs;
import org.embeddings.testkit.RealNode;

/**
 * What the {@code embedding} highlighter costs per returned hit, through a real node: SciFact documents indexed both
 * as one vector per document and as passages, then for each query of a set the same search with and without the
 * highlighter, at 1 client (p50 latency) and 4 clients (queries/s), in one run:
 * <ul>
 *   <li>{@code embed_knn} on the document vector, plain, and with {@code encode_sentences}: the hits' sentences
 *       encoded at fetch time (their inference is the cost);
 *   <li>the {@code nested} query on the passages, plain, and with the highlighter on the stored passages (no
 *       inference: reading and scoring the stored vectors).
 * </ul>
 * Every query text is searched once before timing, so the query vector comes from the cache and what differs is the
 * fetch phase. The cost per hit is (highlighted - plain) p50 / hits returned.
 *
 * <p>Usage: {@code src/scripts/bench.sh highlight [MODEL] [DOCS] [QUERIES] [SIZE]} (defaults bge-small-en-v1.5, 300,
 * 60, 10).
 */
public final class HighlightBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        int queries = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        int size = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        LongDocs set = LongDocs.beir(data);
        List<String> texts = new ArrayList<>(set.documents().values()).subList(0, docs);
        List<String> questions = new ArrayList<>(set.queries().values()).subList(0, queries);
        try (RealNode node = RealNode.start("bench-highlight", RealNode.port(84))) {
            node.installModel(models, model);
            NodeWorkload.ok(node.call("PUT", "/h", String.format(Locale.ROOT, """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"},
                   "vec": {"type": "embedding", "model": "%s"},
                   "passages": {"type": "nested", "properties": {
                     "vec": {"type": "embedding", "model": "%s"}, "start": {"type": "integer"}, "end": {"type": "integer"}}}}}}""", model, model)));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/h", String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}},
                  {"embed": {"model": "%s", "field_map": {"body": "passages.vec"}, "chunking": {}}}]}""", model, model)));
            double docsPerSecond = NodeWorkload.ingest(node, "/h/_bulk?pipeline=h", texts);
            NodeWorkload.ok(node.call("POST", "/h/_refresh", null));
            System.out.printf(
                    Locale.ROOT,
                    "%s: %d SciFact documents (%.2f docs/s), %d queries, %d hits each%n",
                    model,
                    docs,
                    docsPerSecond,
                    queries,
                    size);

            Map<String, List<String>> bodies = new LinkedHashMap<>();
            for (String q : questions) {
                String text = new JsonPrimitive(q).toString();
                String knn = "{\"embed_knn\": {\"vec\": {\"query_text\": " + text + ", \"k\": " + size + "}}}";
                String nested = "{\"nested\": {\"path\": \"passages\", \"score_mode\": \"max\", \"query\": "
                        + "{\"embed_knn\": {\"passages.vec\": {\"query_text\": " + text + ", \"k\": " + size
                        + "}}}}}";
                add(bodies, "embed_knn, no highlight", body(size, knn, null));
                add(bodies, "embed_knn, encode_sentences", body(size, knn, """
                    {"type": "embedding", "number_of_fragments": 3, "options": {"encode_sentences": true}}"""));
                add(bodies, "nested, no highlight", body(size, nested, null));
                add(bodies, "nested, stored passages", body(size, nested, """
                    {"type": "embedding", "number_of_fragments": 3}"""));
            }
            // warm: every query vector cached, every path run once
            for (List<String> list : bodies.values()) {
                NodeWorkload.queries(node, "/h/_search", list, 1);
            }
            double sentences = sentencesPerHit(node, bodies.get("embed_knn, encode_sentences"));
            System.out.printf(Locale.ROOT, "sentences encoded per hit with encode_sentences: %.1f%n", sentences);
            System.out.printf(
                    Locale.ROOT,
                    "%-30s %10s %10s %14s %16s%n",
                    "search",
                    "p50 ms",
                    "p99 ms",
                    "q/s 4 clients",
                    "p50 ms per hit");
            double baseline = 0;
            for (Map.Entry<String, List<String>> e : bodies.entrySet()) {
                double[] one = NodeWorkload.queries(node, "/h/_search", e.getValue(), 1);
                double[] four = NodeWorkload.queries(node, "/h/_search", e.getValue(), 4);
                boolean plain = e.getKey().endsWith("no highlight");
                if (plain) {
                    baseline = one[0];
                }
                System.out.printf(
                        Locale.ROOT,
                        "%-30s %10.1f %10.1f %14.1f %16s%n",
                        e.getKey(),
                        one[0],
                        one[1],
                        four[2],
                        plain ? "" : String.format(Locale.ROOT, "+%.2f", (one[0] - baseline) / size));
            }
        }
    }

    private static void add(Map<String, List<String>> bodies, String key, String body) {
        bodies.computeIfAbsent(key, k -> new ArrayList<>()).add(body);
    }

    private static String body(int size, String query, String highlight) {
        return "{\"size\": " + size + ", \"_source\": false, \"query\": " + query
                + (highlight == null ? "" : ", \"highlight\": {\"fields\": {\"body\": " + highlight + "}}") + "}";
    }

    /** Sentences a hit holds, over the hits of the first searches (what encode_sentences encodes per hit). */
    private static double sentencesPerHit(RealNode node, List<String> bodies) throws Exception {
        long sentences = 0;
        long hits = 0;
        for (String body : bodies.subList(0, Math.min(10, bodies.size()))) {
            JsonObject request = JsonParser.parseString(body).getAsJsonObject();
            request.getAsJsonObject("highlight")
                    .getAsJsonObject("fields")
                    .getAsJsonObject("body")
                    .addProperty("number_of_fragments", 0);
            var response = node.call("POST", "/h/_search", request.toString());
            NodeWorkload.ok(response);
            for (var hit :
                    response.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits")) {
                hits++;
                if (hit.getAsJsonObject().has("highlight")) {
                    sentences += hit.getAsJsonObject()
                            .getAsJsonObject("highlight")
                            .getAsJsonArray("body")
                            .size();
                }
            }
        }
        return hits == 0 ? 0 : (double) sentences / hits;
    }

    private HighlightBench() {}
}

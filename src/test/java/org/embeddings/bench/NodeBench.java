package org.embeddings.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RealNode;

/**
 * A real node under the workloads of issue 6, in one run: bulk ingest through the {@code embed} pipeline against the
 * encoder alone on the same texts (the cost of OpenSearch plus the processor); {@code embed_knn} latency and
 * throughput at 1, 4 and 16 concurrent clients, with fresh query texts (encoding + search) and with repeated ones
 * (served by the query cache: search alone); and the node's resident memory before and after loading each model.
 *
 * <p>Usage: {@code src/scripts/bench.sh node [MODEL] [DOCS]}; writes {@code docs/bench/query-latency.png}.
 */
public final class NodeBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        List<String> texts = EncoderBench.scifact(data, docs);
        List<String> queries = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            queries.add(
                    JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
        }
        queries = queries.subList(0, Math.min(queries.size(), 160));

        double encoderSeconds;
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder(model);
            encoder.encode(texts.subList(0, 4), Role.PASSAGE);
            long t0 = System.nanoTime();
            for (int from = 0; from < texts.size(); from += 100) {
                encoder.encode(texts.subList(from, Math.min(texts.size(), from + 100)), Role.PASSAGE);
            }
            encoderSeconds = (System.nanoTime() - t0) / 1e9;
        }

        // -Dbench.node.settings=a=b,c=d passes node settings (to compare, say, embeddings.onnx.allow_spinning)
        String[] nodeSettings = System.getProperty("bench.node.settings", "").isBlank()
                ? new String[0]
                : System.getProperty("bench.node.settings").split(",");
        try (RealNode node = RealNode.start("bench", RealNode.port(80), nodeSettings)) {
            long pid = NodeWorkload.pid(node.dir());
            System.out.printf(
                    Locale.ROOT,
                    "node pid %d, %s, %d SciFact documents, %d queries, settings %s%n",
                    pid,
                    model,
                    docs,
                    queries.size(),
                    List.of(nodeSettings));
            long rssBefore = NodeWorkload.rss(pid);
            long heapBefore = NodeWorkload.heapUsed(node);
            NodeWorkload.ok(node.call(
                    "POST",
                    "/_plugins/_embeddings/embed",
                    "{\"model\": \"" + model + "\", \"role\": \"query\", \"texts\": [\"load\"]}"));
            long rssModel = NodeWorkload.rss(pid);
            long heapModel = NodeWorkload.heapUsed(node);

            NodeWorkload.ok(node.call("PUT", "/bench", String.format(Locale.ROOT, """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/bench", String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
            double ingestSeconds = texts.size() / NodeWorkload.ingest(node, "/bench/_bulk?pipeline=bench", texts);
            NodeWorkload.ok(node.call("POST", "/bench/_refresh", null));
            System.out.printf(
                    Locale.ROOT, "%nIngest (bulks of 100, one client)%n%-40s %10s %8s%n", "", "docs/s", "ratio");
            System.out.printf(
                    Locale.ROOT,
                    "%-40s %10.2f %8s%n",
                    "encoder alone (same texts, same JVM settings)",
                    texts.size() / encoderSeconds,
                    "1.00");
            System.out.printf(
                    Locale.ROOT,
                    "%-40s %10.2f %8.2f%n",
                    "node: _bulk with the embed pipeline",
                    texts.size() / ingestSeconds,
                    encoderSeconds / ingestSeconds);

            System.out.printf(
                    Locale.ROOT,
                    "%nembed_knn (k=10) at the client, ms%n%-10s %-22s %8s %8s %8s%n",
                    "clients",
                    "query texts",
                    "p50",
                    "p99",
                    "qps");
            int[] concurrency = {1, 4, 16};
            Map<String, List<? extends Number>> series = new LinkedHashMap<>();
            List<Double> freshP50 = new ArrayList<>(),
                    freshP99 = new ArrayList<>(),
                    cachedP50 = new ArrayList<>(),
                    cachedP99 = new ArrayList<>();
            int pass = 0;
            for (int c : concurrency) {
                double[] fresh = NodeWorkload.queries(
                        node, "/bench/_search", searches(queries, " " + (++pass)), c); // new suffix: nothing cached
                double[] cached = NodeWorkload.queries(
                        node, "/bench/_search", searches(queries, " " + pass), c); // the same texts again: all cached
                System.out.printf(
                        Locale.ROOT,
                        "%-10d %-22s %8.1f %8.1f %8.1f%n",
                        c,
                        "new (encode + search)",
                        fresh[0],
                        fresh[1],
                        fresh[2]);
                System.out.printf(
                        Locale.ROOT,
                        "%-10d %-22s %8.1f %8.1f %8.1f%n",
                        c,
                        "repeated (cache hit)",
                        cached[0],
                        cached[1],
                        cached[2]);
                freshP50.add(fresh[0]);
                freshP99.add(fresh[1]);
                cachedP50.add(cached[0]);
                cachedP99.add(cached[1]);
            }
            series.put("p50, new texts", freshP50);
            series.put("p99, new texts", freshP99);
            series.put("p50, cached", cachedP50);
            series.put("p99, cached", cachedP99);
            Charts.line(
                    Path.of("docs/bench/query-latency.png"),
                    "embed_knn latency vs concurrency (" + model + ", 2 cores)",
                    "concurrent clients",
                    "ms at the client",
                    Arrays.stream(concurrency).boxed().toList(),
                    series,
                    true);
            RealNode.Response stats = node.call("GET", "/_plugins/_embeddings/stats", null);
            JsonObject local = stats.body()
                    .getAsJsonObject()
                    .getAsJsonObject("nodes")
                    .entrySet()
                    .iterator()
                    .next()
                    .getValue()
                    .getAsJsonObject();
            System.out.println("node latency (all requests): " + local.getAsJsonObject("latency") + ", query cache: "
                    + local.getAsJsonObject("query_cache"));

            System.out.printf(Locale.ROOT, "%nMemory (node RSS from /proc, heap from _nodes/stats)%n");
            System.out.printf(Locale.ROOT, "%-44s %10s %10s%n", "", "RSS MB", "heap MB");
            System.out.printf(
                    Locale.ROOT, "%-44s %10.0f %10.0f%n", "node, no model loaded", rssBefore / 1e6, heapBefore / 1e6);
            System.out.printf(
                    Locale.ROOT, "%-44s %10.0f %10.0f%n", "after loading " + model, rssModel / 1e6, heapModel / 1e6);
            long previous = NodeWorkload.rss(pid);
            for (String extra : List.of("e5-small-v2", "all-minilm-l6-v2", "bge-small-en-v1.5-q")) {
                if (extra.equals(model)) {
                    continue;
                }
                node.installModel(models, extra);
                NodeWorkload.ok(node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"" + extra + "\", \"role\": \"query\", \"texts\": [\"load\"]}"));
                long now = NodeWorkload.rss(pid);
                System.out.printf(
                        Locale.ROOT,
                        "%-44s %10.0f %10s  (+%.0f MB; model file %.0f MB)%n",
                        "after also loading " + extra,
                        now / 1e6,
                        "",
                        (now - previous) / 1e6,
                        Files.size(models.resolve(extra).resolve("model.onnx")) / 1e6);
                previous = now;
            }
            System.out.printf(
                    Locale.ROOT,
                    "model %s added %.0f MB RSS (model file %.0f MB)%n",
                    model,
                    (rssModel - rssBefore) / 1e6,
                    Files.size(models.resolve(model).resolve("model.onnx")) / 1e6);
        }
    }

    /** One {@code embed_knn} search body (k = 10) per query text, with {@code suffix} appended to the text. */
    private static List<String> searches(List<String> queries, String suffix) {
        List<String> bodies = new ArrayList<>();
        for (String q : queries) {
            JsonObject params = new JsonObject();
            params.addProperty("query_text", q + suffix);
            params.addProperty("k", 10);
            bodies.add("{\"size\": 10, \"_source\": false, \"query\": {\"embed_knn\": {\"vec\": " + params + "}}}");
        }
        return bodies;
    }
}

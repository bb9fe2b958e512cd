package org.embeddings.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.embeddings.it.RealNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * This plugin against OpenSearch 3.6.0 with ml-commons + neural-search ({@code src/scripts/mlcommons.sh}), same
 * model (bge-small-en-v1.5 ONNX, CLS, normalized), same machine, same workloads, one run, one node at a time:
 * bulk ingest of SciFact documents (title + " " + text) in bulks of 100 from one client through each one's
 * pipeline; the test queries one at a time ({@code embed_knn} with the BGE query instruction against
 * {@code neural}, k = 10), p50 and p99 at the client; queries per second at 16 clients; resident memory a
 * loaded model adds; time from the first request (ours: no API call) or the register call (theirs) to a usable
 * model.
 *
 * <p>Usage: {@code src/scripts/bench.sh compare [DOCS] [QUERIES]} (default 1,000 and 100).
 */
public final class CompareBench {
    private record Result(double ingestDocsPerSecond, double p50, double p99, double qps16, double modelRssMb, double readySeconds) {}

    public static void main(String[] args) throws Exception {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int nQueries = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        List<String> texts = EncoderBench.scifact(data, docs);
        List<String> queries = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            queries.add(JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
        }
        List<String> single = queries.subList(0, nQueries);
        List<String> concurrent = queries.subList(nQueries, Math.min(queries.size(), nQueries + 320));

        Result ours;
        try (RealNode node = RealNode.start("compare", RealNode.port(85))) {
            long pid = NodeWorkload.pid(node.dir());
            long rss0 = NodeWorkload.rss(pid);
            long t0 = System.nanoTime();
            NodeWorkload.ok(node.call("POST", "/_plugins/_embeddings/embed", "{\"model\": \"bge-small-en-v1.5\", \"role\": \"query\", \"texts\": [\"load\"]}"));
            double ready = (System.nanoTime() - t0) / 1e9;
            long rss1 = NodeWorkload.rss(pid);
            NodeWorkload.ok(node.call("PUT", "/cmp", """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/cmp", """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
            double ingest = NodeWorkload.ingest(node, "/cmp/_bulk?pipeline=cmp", texts);
            NodeWorkload.ok(node.call("POST", "/cmp/_refresh", null));
            double[] lat = queries(node, single, 1, q -> knn("embed_knn", "vec", q, null));
            double[] par = queries(node, concurrent, 16, q -> knn("embed_knn", "vec", q, null));
            ours = new Result(ingest, lat[0], lat[1], par[2], (rss1 - rss0) / 1e6, ready);
        }

        Result theirs;
        Path script = Path.of("src/scripts/mlcommons.sh").toAbsolutePath();
        Process start = new ProcessBuilder("bash", script.toString(), "start").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(start.getInputStream().readAllBytes());
        if (start.waitFor() != 0) {
            throw new IllegalStateException("mlcommons.sh start failed: " + out);
        }
        String modelId = out.lines().filter(l -> l.startsWith("MODEL_ID=")).findFirst().orElseThrow().substring("MODEL_ID=".length());
        try {
            Path base = Path.of("target/mlcommons");
            long pid = NodeWorkload.pid(base.resolve("node"));
            long rss0 = Long.parseLong(Files.readString(base.resolve("rss_before_model_kb")).trim()) * 1024;
            long rss1 = NodeWorkload.rss(pid);
            RealNode node = RealNode.attach(base.resolve("node"), Integer.parseInt(System.getenv().getOrDefault("MLC_HTTP_PORT", Integer.toString(RealNode.port(95)))));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/cmp", """
                {"processors": [{"text_embedding": {"model_id": "%s", "field_map": {"body": "vec"}}}]}""".formatted(modelId)));
            NodeWorkload.ok(node.call("PUT", "/cmp", """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.knn": true},
                 "mappings": {"properties": {"body": {"type": "text"},
                   "vec": {"type": "knn_vector", "dimension": 384,
                           "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}"""));
            double ingest = NodeWorkload.ingest(node, "/cmp/_bulk?pipeline=cmp", texts);
            NodeWorkload.ok(node.call("POST", "/cmp/_refresh", null));
            double[] lat = queries(node, single, 1, q -> knn("neural", "vec", q, modelId));
            double[] par = queries(node, concurrent, 16, q -> knn("neural", "vec", q, modelId));
            double ready = readySeconds();
            theirs = new Result(ingest, lat[0], lat[1], par[2], (rss1 - rss0) / 1e6, ready);
        } finally {
            new ProcessBuilder("bash", script.toString(), "stop").inheritIO().start().waitFor();
        }

        System.out.printf("%nbge-small-en-v1.5, %d SciFact documents (bulks of 100, one client), %d queries one at a time, %d at 16 clients%n", docs,
            single.size(), concurrent.size());
        System.out.printf("%-40s %14s %14s %8s%n", "", "embeddings", "ml-commons", "ratio");
        row("ingest, docs/s", ours.ingestDocsPerSecond(), theirs.ingestDocsPerSecond(), ours.ingestDocsPerSecond() / theirs.ingestDocsPerSecond());
        row("query p50 at 1 client, ms", ours.p50(), theirs.p50(), ours.p50() / theirs.p50());
        row("query p99 at 1 client, ms", ours.p99(), theirs.p99(), ours.p99() / theirs.p99());
        row("queries/s at 16 clients", ours.qps16(), theirs.qps16(), ours.qps16() / theirs.qps16());
        row("RSS added by the loaded model, MB", ours.modelRssMb(), theirs.modelRssMb(), ours.modelRssMb() / theirs.modelRssMb());
        row("to a usable model, s", ours.readySeconds(), theirs.readySeconds(), ours.readySeconds() / theirs.readySeconds());
    }

    private static void row(String name, double a, double b, double ratio) {
        System.out.printf("%-40s %14.1f %14.1f %7.2fx%n", name, a, b, ratio);
    }

    /** Seconds from register call to deployed, as mlcommons.sh measured them. */
    private static double readySeconds() throws Exception {
        return Double.parseDouble(Files.readString(Path.of("target/mlcommons/register_to_deployed_s")).trim());
    }

    private static String knn(String type, String field, String text, String modelId) {
        JsonObject params = new JsonObject();
        params.addProperty("query_text", text);
        params.addProperty("k", 10);
        if (modelId != null) {
            params.addProperty("model_id", modelId);
        }
        JsonObject f = new JsonObject();
        f.add(field, params);
        JsonObject q = new JsonObject();
        q.add(type, f);
        return "{\"size\": 10, \"_source\": false, \"query\": " + q + "}";
    }

    /** Warms the query path up, then sends one search per query text over {@code clients} threads. */
    private static double[] queries(RealNode node, List<String> queries, int clients, java.util.function.Function<String, String> body)
        throws Exception {
        NodeWorkload.ok(node.call("POST", "/cmp/_search", body.apply("warm up the query path")));
        return NodeWorkload.queries(node, "/cmp/_search", queries.stream().map(body).toList(), clients);
    }
}

package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.embeddings.testkit.RealNode;

/**
 * This plugin against OpenSearch 3.6.0 with ml-commons and neural-search ({@code src/scripts/mlcommons.sh}), in one
 * run, one node at a time, with equal work on both sides: the same model files, the same prompts, the same documents
 * and queries.
 * <ul>
 *   <li><b>Models.</b> bge-small-en-v1.5 fp32 ({@code model.onnx}) and int8. Ours is {@code bge-small-en-v1.5-int8},
 *       quantized by the node at load; ml-commons is given that very int8 file, taken from our node's data path, so
 *       both sides run the same int8 graph.</li>
 *   <li><b>Prompts.</b> BGE's query instruction: our card applies it to role query; ml-commons gets it as the model's
 *       {@code query_prefix}, which it applies to neural queries. The run checks it: the same query over the same
 *       documents must give the same top-10 scores on both sides (to within float noise), else the prompts differ.</li>
 *   <li><b>Work.</b> SciFact documents (title + " " + text) bulk-ingested in bulks of 100 from one client through each
 *       side's pipeline; SciFact test queries one at a time ({@code embed_knn} against {@code neural}, k = 10) for p50
 *       and p99 at the client; other queries at 16 clients for queries/s. Every query text is used once per model, so
 *       no side answers from a cache. Also the resident memory a loaded model adds.</li>
 * </ul>
 *
 * <p>Usage: {@code src/scripts/bench.sh compare [DOCS] [QUERIES]} (default 1,000 and 100).
 */
public final class CompareBench {
    private static final String FP32 = "bge-small-en-v1.5";
    private static final String INT8 = "bge-small-en-v1.5-int8";
    private static final String PROBE = "what does the immune system do against viruses";

    private record Result(
            double ingestDocsPerSecond,
            double p50,
            double p99,
            double qps16,
            double modelRssMb,
            List<Float> probeScores) {}

    public static void main(String[] args) throws Exception {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int nQueries = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        List<String> texts = EncoderBench.scifact(data, docs);
        List<String> queries = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            queries.add(
                    JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
        }
        List<String> single = queries.subList(0, nQueries);
        List<String> concurrent = queries.subList(nQueries, Math.min(queries.size(), nQueries + 320));

        Map<String, Result> ours = new LinkedHashMap<>();
        Path int8Dir = Path.of(System.getProperty("embeddings.work.dir", "target/bench-nodes"))
                .resolve("compare-int8-model")
                .toAbsolutePath();
        // -Dbench.node.settings=a=b,c=d passes node settings to this plugin's node (not to ml-commons')
        String settings = System.getProperty("bench.node.settings", "");
        try (RealNode node = RealNode.start(
                "compare", RealNode.port(85), settings.isEmpty() ? new String[0] : settings.split(","))) {
            long pid = NodeWorkload.pid(node.dir());
            for (String model : List.of(FP32, INT8)) {
                long rss0 = NodeWorkload.rss(pid);
                NodeWorkload.ok(node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"" + model + "\", \"role\": \"query\", \"texts\": [\"load\"]}"));
                long rss1 = NodeWorkload.rss(pid);
                String index = "/cmp-" + model;
                NodeWorkload.ok(node.call("PUT", index, String.format(Locale.ROOT, """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
                NodeWorkload.ok(
                        node.call("PUT", "/_ingest/pipeline/cmp-" + model, String.format(Locale.ROOT, """
                    {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
                double ingest = NodeWorkload.ingest(node, index + "/_bulk?pipeline=cmp-" + model, texts);
                NodeWorkload.ok(node.call("POST", index + "/_refresh", null));
                Function<String, String> body = q -> knn("embed_knn", "vec", q, null);
                double[] lat = queries(node, index, single, 1, body);
                double[] par = queries(node, index, concurrent, 16, body);
                ours.put(
                        model,
                        new Result(ingest, lat[0], lat[1], par[2], (rss1 - rss0) / 1e6, probe(node, index, body)));
            }
            exportInt8(
                    node.dir(),
                    Path.of(System.getProperty("embeddings.test.models", "target/models"))
                            .resolve(FP32),
                    int8Dir);
        }

        Map<String, Result> theirs = new LinkedHashMap<>();
        Path script = Path.of("src/scripts/mlcommons.sh").toAbsolutePath();
        Path fp32Dir = Path.of(System.getProperty("embeddings.test.models", "target/models"))
                .resolve(FP32)
                .toAbsolutePath();
        ProcessBuilder startCommand =
                new ProcessBuilder("bash", script.toString(), "start").redirectError(ProcessBuilder.Redirect.INHERIT);
        startCommand.environment().put("MLC_MODELS", FP32 + "=" + fp32Dir + " " + INT8 + "=" + int8Dir);
        Process start = startCommand.start();
        String out = new String(start.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (start.waitFor() != 0) {
            throw new IllegalStateException("mlcommons.sh start failed: " + out);
        }
        try {
            Path base = Path.of("target/mlcommons");
            long pid = NodeWorkload.pid(base.resolve("node"));
            RealNode node = RealNode.attach(
                    base.resolve("node"),
                    Integer.parseInt(
                            System.getenv().getOrDefault("MLC_HTTP_PORT", Integer.toString(RealNode.port(95)))));
            long rssBefore = Long.parseLong(Files.readString(base.resolve("rss_before_model_kb"))
                            .trim())
                    * 1024;
            long rssAfter = NodeWorkload.rss(pid);
            for (String model : List.of(FP32, INT8)) {
                String modelId = out.lines()
                        .filter(l -> l.startsWith("MODEL_ID_" + model + "="))
                        .findFirst()
                        .orElseThrow(() -> new IllegalStateException("no model id for " + model + " in: " + out))
                        .substring(("MODEL_ID_" + model + "=").length());
                String index = "/cmp-" + model;
                NodeWorkload.ok(
                        node.call("PUT", "/_ingest/pipeline/cmp-" + model, String.format(Locale.ROOT, """
                    {"processors": [{"text_embedding": {"model_id": "%s", "field_map": {"body": "vec"}}}]}""", modelId)));
                NodeWorkload.ok(node.call("PUT", index, """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.knn": true},
                     "mappings": {"properties": {"body": {"type": "text"},
                       "vec": {"type": "knn_vector", "dimension": 384,
                               "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}"""));
                double ingest = NodeWorkload.ingest(node, index + "/_bulk?pipeline=cmp-" + model, texts);
                NodeWorkload.ok(node.call("POST", index + "/_refresh", null));
                Function<String, String> body = q -> knn("neural", "vec", q, modelId);
                double[] lat = queries(node, index, single, 1, body);
                double[] par = queries(node, index, concurrent, 16, body);
                // both models are deployed before any is used, so only their sum is known: split evenly
                theirs.put(
                        model,
                        new Result(
                                ingest,
                                lat[0],
                                lat[1],
                                par[2],
                                (rssAfter - rssBefore) / 2e6,
                                probe(node, index, body)));
            }
        } finally {
            new ProcessBuilder("bash", script.toString(), "stop")
                    .inheritIO()
                    .start()
                    .waitFor();
        }

        System.out.printf(
                Locale.ROOT,
                "%nbge-small-en-v1.5, %d SciFact documents (bulks of 100, one client), %d queries one at a time, %d at 16 clients%n",
                docs,
                single.size(),
                concurrent.size());
        for (String model : List.of(FP32, INT8)) {
            System.out.printf(
                    Locale.ROOT,
                    "equal prompts, %s: top-10 scores of one query differ by at most %.5f between the two sides%n",
                    model,
                    maxDifference(
                            ours.get(model).probeScores(), theirs.get(model).probeScores()));
        }
        System.out.printf(
                Locale.ROOT,
                "%n| | embeddings fp32 | embeddings int8 | ml-commons fp32 | ml-commons int8 | ours fp32 / theirs fp32 | ours int8 / theirs fp32 | ours int8 / theirs int8 |%n");
        System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|---|---|%n");
        row("ingest, docs/s", ours, theirs, Result::ingestDocsPerSecond);
        row("query p50 at 1 client, ms", ours, theirs, Result::p50);
        row("query p99 at 1 client, ms", ours, theirs, Result::p99);
        row("queries/s at 16 clients", ours, theirs, Result::qps16);
        row("RSS added by the loaded model, MB", ours, theirs, Result::modelRssMb);
    }

    private static void row(
            String name, Map<String, Result> ours, Map<String, Result> theirs, Function<Result, Double> metric) {
        double of = metric.apply(ours.get(FP32)), oi = metric.apply(ours.get(INT8));
        double tf = metric.apply(theirs.get(FP32)), ti = metric.apply(theirs.get(INT8));
        System.out.printf(
                Locale.ROOT,
                "| %s | %.1f | %.1f | %.1f | %.1f | %.2fx | %.2fx | %.2fx |%n",
                name,
                of,
                oi,
                tf,
                ti,
                of / tf,
                oi / tf,
                oi / ti);
    }

    /** Copies the int8 graph our node built for bge-small-en-v1.5-int8 beside its tokenizer, for ml-commons. */
    private static void exportInt8(Path nodeDir, Path fp32Model, Path target) throws Exception {
        Path built;
        try (Stream<Path> files = Files.walk(nodeDir.resolve("data"))) {
            built = files.filter(f -> f.toString().contains("embeddings/int8/")
                            && f.toString().endsWith(".onnx"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no int8 file under " + nodeDir.resolve("data")));
        }
        Files.createDirectories(target);
        Files.copy(built, target.resolve("model.onnx"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(
                fp32Model.resolve("tokenizer.json"),
                target.resolve("tokenizer.json"),
                StandardCopyOption.REPLACE_EXISTING);
    }

    /** The top-10 scores of one fixed query: equal on both sides only if both encode the same query text. */
    private static List<Float> probe(RealNode node, String index, Function<String, String> body) throws Exception {
        RealNode.Response r = node.call("POST", index + "/_search", body.apply(PROBE));
        NodeWorkload.ok(r);
        List<Float> scores = new ArrayList<>();
        JsonArray hits = r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
        hits.forEach(h -> scores.add(h.getAsJsonObject().get("_score").getAsFloat()));
        return scores;
    }

    private static double maxDifference(List<Float> a, List<Float> b) {
        double max = 0;
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            max = Math.max(max, Math.abs(a.get(i) - b.get(i)));
        }
        return a.size() == b.size() ? max : Double.POSITIVE_INFINITY;
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
    private static double[] queries(
            RealNode node, String index, List<String> queries, int clients, Function<String, String> body)
            throws Exception {
        NodeWorkload.ok(node.call("POST", index + "/_search", body.apply("warm up the query path")));
        return NodeWorkload.queries(
                node, index + "/_search", queries.stream().map(body).toList(), clients);
    }
}

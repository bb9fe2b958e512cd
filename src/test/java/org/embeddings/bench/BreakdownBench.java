package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RealNode;

/**
 * Where a fresh {@code embed_knn} query's time goes, through one real node: SciFact documents in a field bound to
 * MODEL, then five kinds of request interleaved one at a time from one client (each round sends one of each, in an
 * order that rotates), and the p50 of each:
 * <ol>
 *   <li>BM25 {@code match} on the text field: the floor of an HTTP search on this node;</li>
 *   <li>{@code embed_knn} with a {@code query_vector}: the same search with no encoding;</li>
 *   <li>{@code embed_knn} with a {@code query_text} seen before (the query cache answers);</li>
 *   <li>{@code embed_knn} with a fresh {@code query_text} (never sent before);</li>
 *   <li>the embed API with one fresh query text (role query).</li>
 * </ol>
 * The node's own stage timers for the fresh queries (the wait for the model's thread, tokenizing, the ONNX run,
 * pooling, the hand-off back to the search) are read from the stats API before and after, and the in-process
 * encode of one query alone (this JVM, no node) is timed for fp32 and int8, interleaved.
 *
 * <p>With {@code -Dbench.baseline.zip=ZIP} (in BENCH_OPTS), a second node runs another build's plugin zip on the same
 * documents, and every round sends each kind of request to both nodes in a rotating order: the two builds' p50s and
 * their ratio come from the same run. With {@code -Dbench.baseline.settings=k=v,...} instead, the second node runs
 * this build with those node settings (for example {@code embeddings.onnx.workers=1}).
 *
 * <p>Usage: {@code src/scripts/bench.sh breakdown [MODEL] [DOCS] [ROUNDS]} (defaults bge-small-en-v1.5-int8, 5183,
 * 300).
 */
public final class BreakdownBench {
    private static final List<String> KINDS = List.of(
            "BM25 match",
            "embed_knn, query_vector",
            "embed_knn, cached query_text",
            "embed_knn, fresh query_text",
            "embed API, one fresh query");

    /** One node under test, its requests and what it measured. */
    private record Subject(String label, RealNode node, Map<String, double[]> ms, JsonObject[] stats) {}

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5-int8";
        int docCount = args.length > 1 ? Integer.parseInt(args[1]) : 5183;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        String baselineZip = System.getProperty("bench.baseline.zip");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        String base = model.endsWith("-int8") ? model.substring(0, model.length() - 5) : model;
        List<String> docs = EncoderBench.scifact(data, docCount);
        List<String> queries = Int8RecipeBench.scifactQueries(data);
        if (queries.size() < 2 * rounds + 1) {
            throw new IllegalArgumentException("at most " + (queries.size() - 1) / 2 + " rounds: one fresh text each");
        }
        System.out.printf(
                Locale.ROOT,
                "%s, %d documents, %d rounds, %d cores%s%n",
                model,
                docs.size(),
                rounds,
                Runtime.getRuntime().availableProcessors(),
                baselineZip == null ? "" : ", against the baseline build " + baselineZip + " in the same run");
        List<Subject> subjects = new ArrayList<>();
        try {
            subjects.add(subject("this build", RealNode.start("bench-breakdown", RealNode.port(84)), rounds));
            String baselineSettings = System.getProperty("bench.baseline.settings");
            if (baselineZip == null && baselineSettings != null) {
                subjects.add(subject(
                        "baseline",
                        RealNode.start("bench-breakdown-baseline", RealNode.port(85), baselineSettings.split(",")),
                        rounds));
            }
            if (baselineZip != null) {
                subjects.add(subject(
                        "baseline",
                        RealNode.start(
                                "bench-breakdown-baseline",
                                RealNode.port(85),
                                Map.of("EMBEDDINGS_PLUGIN_ZIP", baselineZip)),
                        rounds));
            }
            for (Subject s : subjects) {
                prepare(s.node(), models, base, model, docs);
            }
            String cached = queries.get(queries.size() - 1);
            float[] vector = embed(subjects.get(0).node(), model, cached);
            for (Subject s : subjects) {
                embed(s.node(), model, cached); // the cached text, cached on every node
                for (int w = 0; w < 20; w++) { // warm-up: JIT, caches, the model's first runs
                    request(s.node(), "BM25 match", model, queries, rounds, cached, vector, w);
                    request(s.node(), "embed_knn, query_vector", model, queries, rounds, cached, vector, w);
                }
                s.stats()[0] = stats(s.node());
            }
            // every round sends each kind to each node, the order rotating, so that load weighs on all alike
            List<Runnable> order = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                order.clear();
                for (Subject s : subjects) {
                    for (String kind : KINDS) {
                        int round = r;
                        order.add(() -> {
                            long t = System.nanoTime();
                            NodeWorkload.ok(request(s.node(), kind, model, queries, rounds, cached, vector, round));
                            s.ms().get(kind)[round] = (System.nanoTime() - t) / 1e6;
                        });
                    }
                }
                java.util.Collections.rotate(order, r);
                order.forEach(Runnable::run);
            }
            for (Subject s : subjects) {
                s.stats()[1] = stats(s.node());
            }
        } finally {
            for (Subject s : subjects) {
                s.node().close();
            }
        }
        Map<String, Map<String, Double>> p50 = new LinkedHashMap<>();
        StringBuilder header = new StringBuilder("| request |");
        StringBuilder rule = new StringBuilder("|---|");
        for (Subject s : subjects) {
            header.append(' ').append(s.label()).append(" p50 ms | p90 ms |");
            rule.append("---|---|");
            Map<String, Double> m = new LinkedHashMap<>();
            s.ms().forEach((kind, values) -> m.put(kind, percentile(values, 0.5)));
            p50.put(s.label(), m);
        }
        if (subjects.size() > 1) {
            header.append(" this / baseline |");
            rule.append("---|");
        }
        System.out.printf(Locale.ROOT, "%n%s%n%s%n", header, rule);
        for (String kind : KINDS) {
            StringBuilder row = new StringBuilder("| " + kind + " |");
            for (Subject s : subjects) {
                row.append(String.format(
                        Locale.ROOT,
                        " %.2f | %.2f |",
                        percentile(s.ms().get(kind), 0.5),
                        percentile(s.ms().get(kind), 0.9)));
            }
            if (subjects.size() > 1) {
                row.append(String.format(
                        Locale.ROOT,
                        " %.2fx |",
                        p50.get("this build").get(kind) / p50.get("baseline").get(kind)));
            }
            System.out.println(row);
        }
        double[][] inProcess = inProcess(models, base, queries.subList(0, rounds));
        double encode = percentile(model.endsWith("-int8") ? inProcess[1] : inProcess[0], 0.5);
        for (Subject s : subjects) {
            Map<String, Double> m = p50.get(s.label());
            double inQuery = m.get("embed_knn, fresh query_text") - m.get("embed_knn, query_vector");
            double inApi = m.get("embed API, one fresh query") - m.get("BM25 match");
            double overMatch = m.get("embed_knn, fresh query_text") - m.get("BM25 match");
            System.out.printf(
                    Locale.ROOT,
                    "%n%s: encode inside a query (fresh - query_vector) %.2f ms; inside the embed API (embed API -"
                            + " match) %.2f ms; ratio %.2f%n",
                    s.label(),
                    inQuery,
                    inApi,
                    inQuery / inApi);
            System.out.printf(
                    Locale.ROOT,
                    "%s: fresh query - match %.2f ms, %.2fx the in-process encode of one query (%.2f ms)%n",
                    s.label(),
                    overMatch,
                    overMatch / encode,
                    encode);
            System.out.printf(
                    Locale.ROOT, "%s: the node's own timers over the measured rounds (means, ms):%n", s.label());
            printStages(s.stats()[0], s.stats()[1], model);
        }
        System.out.printf(
                Locale.ROOT,
                "%nin process, one query alone (tokenize, run, pool), p50: fp32 %.2f ms, int8 %.2f ms (int8 / fp32 %.2f)%n",
                percentile(inProcess[0], 0.5),
                percentile(inProcess[1], 0.5),
                percentile(inProcess[1], 0.5) / percentile(inProcess[0], 0.5));
    }

    private static Subject subject(String label, RealNode node, int rounds) {
        Map<String, double[]> ms = new LinkedHashMap<>();
        KINDS.forEach(k -> ms.put(k, new double[rounds]));
        return new Subject(label, node, ms, new JsonObject[2]);
    }

    private static void prepare(RealNode node, Path models, String base, String model, List<String> docs)
            throws Exception {
        node.installModel(models, base);
        NodeWorkload.ok(node.call("PUT", "/docs", String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
        NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/docs", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
        long t0 = System.nanoTime();
        double rate = NodeWorkload.ingest(node, "/docs/_bulk?pipeline=docs", docs);
        System.out.printf(Locale.ROOT, "ingested in %.0f s (%.1f docs/s)%n", (System.nanoTime() - t0) / 1e9, rate);
        NodeWorkload.ok(node.call("POST", "/docs/_refresh", null));
        NodeWorkload.ok(node.call("POST", "/docs/_forcemerge?max_num_segments=1", null));
    }

    private static RealNode.Response request(
            RealNode node,
            String kind,
            String model,
            List<String> queries,
            int rounds,
            String cached,
            float[] vector,
            int i) {
        return switch (kind) {
            case "BM25 match" ->
                call(node, "/docs/_search", search("{\"match\": {\"body\": " + str(queries.get(i)) + "}}"));
            case "embed_knn, query_vector" -> call(node, "/docs/_search", knn("\"query_vector\": " + json(vector)));
            case "embed_knn, cached query_text" -> call(node, "/docs/_search", knn("\"query_text\": " + str(cached)));
            case "embed_knn, fresh query_text" ->
                call(node, "/docs/_search", knn("\"query_text\": " + str(queries.get(i))));
            case "embed API, one fresh query" -> {
                JsonObject body = new JsonObject();
                body.addProperty("model", model);
                body.addProperty("role", "query");
                JsonArray texts = new JsonArray();
                texts.add(queries.get(rounds + i));
                body.add("texts", texts);
                yield call(node, "/_plugins/_embeddings/embed", body.toString());
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    private static double percentile(double[] values, double p) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s[(int) (s.length * p)];
    }

    /**
     * In this JVM, each query encoded alone by fp32 and int8 in turn, the way a node encodes a query (one interactive
     * task, with the node's default workers and lone-query session); milliseconds per query.
     */
    private static double[][] inProcess(Path models, String base, List<String> queries) throws Exception {
        double[][] ms = new double[2][queries.size()];
        EncoderSettings defaults = EncoderSettings.defaults();
        // a node's default layout: a worker per core up to 4, the cores shared out as intra-op threads
        int cores = Runtime.getRuntime().availableProcessors();
        int workers = Math.min(cores, 4);
        EncoderSettings asANode = new EncoderSettings(
                new SessionSettings(Math.max(1, cores / workers), false),
                defaults.tokenBudget(),
                defaults.maxBatch(),
                defaults.queryTokenBudget(),
                defaults.queryBurst(),
                1,
                workers);
        try (ModelRegistry registry = new ModelRegistry(List.of(models), asANode)) {
            Encoder fp32 = registry.encoder(base);
            Encoder int8 = registry.encoder(base + "-int8");
            for (int w = 0; w < 20; w++) {
                alone(fp32, queries.get(w));
                alone(int8, queries.get(w));
            }
            for (int i = 0; i < queries.size(); i++) {
                Encoder[] order = i % 2 == 0 ? new Encoder[] {fp32, int8} : new Encoder[] {int8, fp32};
                for (Encoder e : order) {
                    long s = System.nanoTime();
                    alone(e, queries.get(i));
                    ms[e == fp32 ? 0 : 1][i] = (System.nanoTime() - s) / 1e6;
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "in process: %d workers, int8 %s%n",
                    int8.workers(),
                    int8.hasLoneSession() ? "with a lone-query session" : "without a lone-query session");
        }
        return ms;
    }

    /** One query through the query path's encode, waited for. */
    private static float[] alone(Encoder encoder, String text) throws Exception {
        CompletableFuture<float[]> out = new CompletableFuture<>();
        encoder.encodeInteractive(Role.QUERY, new Encoder.Interactive() {
            @Override
            public List<String> take() {
                return List.of(text);
            }

            @Override
            public void done(List<String> texts, float[][] vectors) {
                out.complete(vectors[0]);
            }

            @Override
            public void failed(List<String> texts, Exception e) {
                out.completeExceptionally(e);
            }
        });
        return out.get(60, TimeUnit.SECONDS);
    }

    private static JsonObject stats(RealNode node) throws Exception {
        JsonObject nodes = node.call("GET", "/_plugins/_embeddings/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        return nodes.entrySet().iterator().next().getValue().getAsJsonObject();
    }

    /** The difference of every numeric counter under the model's {@code query_stages}, per query. */
    private static void printStages(JsonObject before, JsonObject after, String model) {
        JsonObject b = stages(before, model);
        JsonObject a = stages(after, model);
        if (a == null) {
            System.out.println("  (this build reports no query stages)");
            return;
        }
        double queries = a.get("encodes").getAsDouble()
                - (b == null ? 0 : b.get("encodes").getAsDouble());
        for (Map.Entry<String, JsonElement> e : a.entrySet()) {
            if (e.getKey().endsWith("_nanos")) {
                double d = e.getValue().getAsDouble()
                        - (b == null ? 0 : b.get(e.getKey()).getAsDouble());
                System.out.printf(Locale.ROOT, "  %-24s %.3f%n", e.getKey().replace("_nanos", ""), d / queries / 1e6);
            }
        }
        if (a.has("lone_runs")) {
            double lone = a.get("lone_runs").getAsDouble()
                    - (b == null || b.has("lone_runs") == false
                            ? 0
                            : b.get("lone_runs").getAsDouble());
            System.out.printf(Locale.ROOT, "  %-24s %.0f%n", "runs on the lone session", lone);
        }
        System.out.printf(Locale.ROOT, "  over %.0f encoded query batches%n", queries);
    }

    private static JsonObject stages(JsonObject nodeStats, String model) {
        JsonObject models = nodeStats.getAsJsonObject("models");
        JsonObject m = models == null ? null : models.getAsJsonObject(model);
        return m == null ? null : m.getAsJsonObject("query_stages");
    }

    private static float[] embed(RealNode node, String model, String text) throws Exception {
        JsonObject body = new JsonObject();
        body.addProperty("model", model);
        body.addProperty("role", "query");
        JsonArray texts = new JsonArray();
        texts.add(text);
        body.add("texts", texts);
        RealNode.Response r = node.call("POST", "/_plugins/_embeddings/embed", body.toString());
        NodeWorkload.ok(r);
        JsonArray v =
                r.body().getAsJsonObject().getAsJsonArray("embeddings").get(0).getAsJsonArray();
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = v.get(i).getAsFloat();
        }
        return f;
    }

    private static RealNode.Response call(RealNode node, String path, String body) {
        try {
            return node.call("POST", path, body);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String search(String query) {
        return "{\"size\": 10, \"_source\": false, \"query\": " + query + "}";
    }

    private static String knn(String params) {
        return search("{\"embed_knn\": {\"vec\": {" + params + ", \"k\": 10}}}");
    }

    private static String str(String s) {
        return new com.google.gson.JsonPrimitive(s).toString();
    }

    private static String json(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(v[i]);
        }
        return b.append(']').toString();
    }
}

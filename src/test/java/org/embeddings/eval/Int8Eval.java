package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.embeddings.encoder.Vectors;
import org.embeddings.it.RealNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The int8 quality table (issue 12), through one real node: for each model, its fp32 form, its derived
 * {@code -int8} form and the LangChain4j {@code -q} file (when installed), each with its own SciFact index (an
 * {@code embedding} field bound to it and an {@code embed} pipeline, all 5,183 documents, exact {@code embed_knn}
 * with k = 100 over the 300 test queries), STSBenchmark test Spearman through the REST embed API (role none), and
 * the per-text cosine of each form's vectors to the fp32 vectors of the same text (document vectors read back from
 * the indices, sentence vectors from the embed API). One more run queries the fp32 index with
 * {@code "model": "<name>-int8"}: int8 query vectors against fp32 document vectors.
 *
 * <p>Usage: {@code src/scripts/eval.sh int8 [MODEL...]} (default: the three Maven Central models); {@code -Deval.q=false}
 * leaves the {@code -q} files out. Slow: every document is encoded once per form.
 */
public final class Int8Eval {
    private static final int BULK = 64;

    record Forms(double fp32, double int8, double q, double int8QueryOnFp32) {}

    record Row(String model, Forms ndcg, Forms sts, double[] int8DocCos, double[] int8StsCos, double[] qDocCos, double[] qStsCos, Map<String, Double> docsPerSecond) {}

    public static void main(String[] args) throws Exception {
        List<String> names = args.length > 0 ? List.of(args) : List.of("all-minilm-l6-v2", "bge-small-en-v1.5", "e5-small-v2");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        boolean withQ = Boolean.parseBoolean(System.getProperty("eval.q", "true"));
        List<Row> rows = new ArrayList<>();
        try (RealNode node = RealNode.start("eval-int8", Integer.getInteger("eval.port", RealNode.port(66)))) {
            Int8Eval eval = new Int8Eval(node, data);
            for (String name : names) {
                node.installModel(models, name);
                boolean q = withQ && Files.isRegularFile(models.resolve(name + "-q").resolve("model.onnx"));
                if (q) {
                    node.installModel(models, name + "-q");
                }
                Row row = eval.evaluate(name, q);
                rows.add(row);
                print(List.of(row)); // partial results survive an interrupted run
            }
        }
        System.out.printf("%n== int8 quality table (SciFact nDCG@10, exact embed_knn; STSB test Spearman; cosine to fp32: min / median)%n");
        print(rows);
    }

    private final RealNode node;
    private final Path data;
    private final List<JsonObject> corpus = new ArrayList<>();
    private final Map<String, String> queries = new LinkedHashMap<>();
    private final Map<String, Map<String, Integer>> qrels = new HashMap<>();
    private final List<StsEval.Pair> pairs;
    private final List<String> sentences;

    Int8Eval(RealNode node, Path data) throws Exception {
        this.node = node;
        this.data = data;
        for (String line : Files.readAllLines(data.resolve("scifact/corpus.jsonl"))) {
            corpus.add(JsonParser.parseString(line).getAsJsonObject());
        }
        List<String> qrelLines = Files.readAllLines(data.resolve("scifact/qrels/test.tsv"));
        for (String line : qrelLines.subList(1, qrelLines.size())) {
            String[] f = line.split("\t");
            qrels.computeIfAbsent(f[0], q -> new HashMap<>()).put(f[1], Integer.parseInt(f[2].trim()));
        }
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            JsonObject q = JsonParser.parseString(line).getAsJsonObject();
            if (qrels.containsKey(q.get("_id").getAsString())) {
                queries.put(q.get("_id").getAsString(), q.get("text").getAsString());
            }
        }
        pairs = StsEval.read(data.resolve("stsb/sts-test.csv"));
        List<String> all = new ArrayList<>();
        for (StsEval.Pair p : pairs) {
            all.add(p.a());
            all.add(p.b());
        }
        sentences = all;
    }

    Row evaluate(String model, boolean withQ) throws Exception {
        String int8 = model + "-int8";
        String q = model + "-q";
        List<String> forms = new ArrayList<>(List.of(model, int8));
        if (withQ) {
            forms.add(q);
        }
        Map<String, Double> rate = new LinkedHashMap<>();
        Map<String, Map<String, float[]>> docVectors = new HashMap<>();
        Map<String, Double> ndcg = new HashMap<>();
        Map<String, Double> sts = new HashMap<>();
        Map<String, float[][]> stsVectors = new HashMap<>();
        for (String form : forms) {
            String index = index(form);
            rate.put(form, ingest(form, index));
            docVectors.put(form, vectors(index));
            ndcg.put(form, ndcg(index, null));
            float[][] v = embed(form, sentences);
            stsVectors.put(form, v);
            sts.put(form, spearman(v));
        }
        double int8OnFp32 = ndcg(index(model), int8);
        return new Row(
            model,
            new Forms(ndcg.get(model), ndcg.get(int8), ndcg.getOrDefault(q, Double.NaN), int8OnFp32),
            new Forms(sts.get(model), sts.get(int8), sts.getOrDefault(q, Double.NaN), Double.NaN),
            cosines(docVectors.get(int8), docVectors.get(model)),
            cosines(stsVectors.get(int8), stsVectors.get(model)),
            withQ ? cosines(docVectors.get(q), docVectors.get(model)) : null,
            withQ ? cosines(stsVectors.get(q), stsVectors.get(model)) : null,
            rate
        );
    }

    private static String index(String form) {
        return "sf-" + form.replace('.', '_');
    }

    /** Ingests the corpus into an index bound to {@code form} through an embed pipeline; returns docs/s. */
    private double ingest(String form, String index) throws Exception {
        check(node.call("PUT", "/" + index, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""".formatted(form)));
        check(node.call("PUT", "/_ingest/pipeline/" + index, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""".formatted(form)));
        long start = System.nanoTime();
        StringBuilder bulk = new StringBuilder();
        int done = 0;
        for (JsonObject doc : corpus) {
            JsonObject source = new JsonObject();
            source.addProperty("body", doc.get("title").getAsString() + " " + doc.get("text").getAsString());
            bulk.append("{\"index\":{\"_id\":").append(doc.get("_id")).append("}}\n").append(source).append('\n');
            if (++done % BULK == 0 || done == corpus.size()) {
                RealNode.Response r = node.call("POST", "/" + index + "/_bulk?pipeline=" + index, bulk.toString(), "application/x-ndjson");
                check(r);
                if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                    throw new IllegalStateException("bulk had errors: " + r.text().substring(0, Math.min(2000, r.text().length())));
                }
                bulk.setLength(0);
                SciFactEval.progress(form, done, corpus.size(), start);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.err.println();
        check(node.call("POST", "/" + index + "/_refresh", null));
        return corpus.size() / seconds;
    }

    /** Every document's stored vector, by id. */
    private Map<String, float[]> vectors(String index) throws Exception {
        RealNode.Response r = node.call("POST", "/" + index + "/_search", """
            {"size": 10000, "_source": ["vec"], "query": {"match_all": {}}}""");
        check(r);
        Map<String, float[]> out = new HashMap<>();
        for (var hit : r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits")) {
            JsonArray v = hit.getAsJsonObject().getAsJsonObject("_source").getAsJsonArray("vec");
            float[] f = new float[v.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = v.get(i).getAsFloat();
            }
            out.put(hit.getAsJsonObject().get("_id").getAsString(), f);
        }
        if (out.size() != corpus.size()) {
            throw new IllegalStateException(index + " holds " + out.size() + " vectors, expected " + corpus.size());
        }
        return out;
    }

    /** nDCG@10 x 100 of exact embed_knn over the test queries, with the field's model or {@code model}. */
    private double ndcg(String index, String model) throws Exception {
        double sum = 0;
        int n = 0;
        long start = System.nanoTime();
        for (Map.Entry<String, String> query : queries.entrySet()) {
            JsonObject params = new JsonObject();
            params.addProperty("query_text", query.getValue());
            params.addProperty("k", 100);
            params.addProperty("exact", true);
            if (model != null) {
                params.addProperty("model", model);
            }
            JsonObject field = new JsonObject();
            field.add("vec", params);
            JsonObject knn = new JsonObject();
            knn.add("embed_knn", field);
            JsonObject request = new JsonObject();
            request.addProperty("size", 100);
            request.addProperty("_source", false);
            request.add("query", knn);
            RealNode.Response r = node.call("POST", "/" + index + "/_search", request.toString());
            check(r);
            List<RetrievalMetrics.Hit> run = new ArrayList<>();
            r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits").forEach(h -> run.add(
                new RetrievalMetrics.Hit(h.getAsJsonObject().get("_id").getAsString(), h.getAsJsonObject().get("_score").getAsDouble())
            ));
            sum += RetrievalMetrics.ndcg(run, qrels.get(query.getKey()), 10);
            SciFactEval.progress("queries", ++n, queries.size(), start);
        }
        System.err.println();
        return 100 * sum / n;
    }

    /** Vectors of {@code texts} for role none through {@code POST /_plugins/_embeddings/embed}. */
    private float[][] embed(String model, List<String> texts) throws Exception {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += 256) {
            List<String> chunk = texts.subList(from, Math.min(texts.size(), from + 256));
            JsonObject body = new JsonObject();
            body.addProperty("model", model);
            body.addProperty("role", "none");
            JsonArray array = new JsonArray();
            chunk.forEach(array::add);
            body.add("texts", array);
            RealNode.Response r = node.call("POST", "/_plugins/_embeddings/embed", body.toString());
            check(r);
            JsonArray embeddings = r.body().getAsJsonObject().getAsJsonArray("embeddings");
            for (int i = 0; i < chunk.size(); i++) {
                JsonArray v = embeddings.get(i).getAsJsonArray();
                float[] f = new float[v.size()];
                for (int d = 0; d < f.length; d++) {
                    f[d] = v.get(d).getAsFloat();
                }
                out[from + i] = f;
            }
        }
        return out;
    }

    /** Spearman x 100 between gold scores and the cosine of each pair's two vectors (sentences in pair order). */
    private double spearman(float[][] v) {
        double[] gold = new double[pairs.size()];
        double[] predicted = new double[pairs.size()];
        for (int i = 0; i < pairs.size(); i++) {
            gold[i] = pairs.get(i).gold();
            predicted[i] = Vectors.cosine(v[2 * i], v[2 * i + 1]);
        }
        return 100 * Spearman.correlation(gold, predicted);
    }

    /** {min, median} cosine between the vectors of the same documents. */
    private static double[] cosines(Map<String, float[]> a, Map<String, float[]> b) {
        double[] c = new double[a.size()];
        int i = 0;
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            c[i++] = Vectors.cosine(e.getValue(), b.get(e.getKey()));
        }
        return minMedian(c);
    }

    private static double[] cosines(float[][] a, float[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = Vectors.cosine(a[i], b[i]);
        }
        return minMedian(c);
    }

    private static double[] minMedian(double[] c) {
        Arrays.sort(c);
        return new double[] { c[0], c[c.length / 2] };
    }

    private static String cos(double[] c) {
        return c == null ? "-" : String.format(Locale.ROOT, "%.4f / %.4f", c[0], c[1]);
    }

    private static void print(List<Row> rows) {
        System.out.printf(
            Locale.ROOT,
            "%n| model | nDCG@10 fp32 | -int8 | -q | int8 query on fp32 docs | STS fp32 | -int8 | -q | cos int8 docs | cos int8 STS | cos -q docs | cos -q STS |%n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|%n"
        );
        for (Row r : rows) {
            System.out.printf(
                Locale.ROOT,
                "| %s | %.2f | %.2f (%+.2f) | %.2f (%+.2f) | %.2f (%+.2f) | %.2f | %.2f (%+.2f) | %.2f (%+.2f) | %s | %s | %s | %s |%n",
                r.model(),
                r.ndcg().fp32(),
                r.ndcg().int8(),
                r.ndcg().int8() - r.ndcg().fp32(),
                r.ndcg().q(),
                r.ndcg().q() - r.ndcg().fp32(),
                r.ndcg().int8QueryOnFp32(),
                r.ndcg().int8QueryOnFp32() - r.ndcg().fp32(),
                r.sts().fp32(),
                r.sts().int8(),
                r.sts().int8() - r.sts().fp32(),
                r.sts().q(),
                r.sts().q() - r.sts().fp32(),
                cos(r.int8DocCos()),
                cos(r.int8StsCos()),
                cos(r.qDocCos()),
                cos(r.qStsCos())
            );
        }
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "ingest docs/s during the run (shared machine, not a benchmark) %s: %s%n", r.model(), r.docsPerSecond());
        }
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text().substring(0, Math.min(2000, r.text().length())));
        }
    }
}

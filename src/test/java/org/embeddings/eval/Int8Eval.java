package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.BulkIngest;
import org.embeddings.testkit.Progress;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.RetrievalMetrics;
import org.embeddings.testkit.Spearman;
import org.embeddings.testkit.StsPairs;
import org.embeddings.testkit.VectorFile;
import org.embeddings.testkit.VectorsEncode;

/**
 * The int8 quality figures (issue 12), through one real node, in three stages, cheapest first so that a run cut
 * short on a busy machine still answers the most ({@code -Deval.stages=vectors,int8,fp32}):
 * <ol>
 *   <li>{@code vectors}: for each model, its fp32 form, its derived {@code -int8} form and the LangChain4j {@code -q}
 *   file (when installed), through {@code POST /_plugins/_embeddings/embed}: STSBenchmark test Spearman (role none,
 *   all 1,379 pairs), and the per-text cosine of each form's vectors to the fp32 vectors of the same texts (min and
 *   median) over the 2,758 STS sentences, the 300 SciFact test queries (query role) and the first
 *   {@code eval.docs} (300) SciFact documents (passage role);</li>
 *   <li>{@code int8}: SciFact nDCG@10 with every document ingested through an {@code embed} pipeline into a field
 *   bound to {@code <model>-int8}, exact {@code embed_knn} (k = 100) over the 300 test queries;</li>
 *   <li>{@code fp32}: the same with the fp32 model, then the same fp32 index queried with
 *   {@code "model": "<model>-int8"}: int8 query vectors against fp32 document vectors;</li>
 *   <li>{@code mixed} (not a default stage): the same question without re-encoding the corpus: the fp32 document
 *   vectors that {@code bench.sh vectors encode} saved with the plugin's own encoder are indexed as they are into a
 *   field bound to the model, which is then queried in fp32 and with {@code "model": "<model>-int8"}.</li>
 * </ol>
 *
 * <p>Usage: {@code src/scripts/eval.sh int8 [MODEL...]} (default: the three Maven Central models); {@code -Deval.q=false}
 * leaves the {@code -q} files out, {@code -Deval.bulk=N} sets the documents per bulk. Slow: stages 2 and 3 encode every document once per model.
 */
public final class Int8Eval {
    /**
     * Documents per {@code _bulk} ({@code eval.bulk}, 64): int8 vectors depend a little on which texts share a batch
     * (one activation scale per batch), so another size measures how far nDCG@10 moves with nothing else changed.
     */
    private static final int BULK = Integer.getInteger("eval.bulk", 64);

    public static void main(String[] args) throws Exception {
        List<String> names =
                args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "all-minilm-l6-v2", "e5-small-v2");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        boolean withQ = Boolean.parseBoolean(System.getProperty("eval.q", "true"));
        List<String> stages =
                List.of(System.getProperty("eval.stages", "vectors,int8,fp32").split(","));
        try (RealNode node = RealNode.start("eval-int8", Integer.getInteger("eval.port", RealNode.port(66)))) {
            Int8Eval eval = new Int8Eval(node, data);
            for (String name : names) {
                node.installModel(models, name);
                if (withQ && Files.isRegularFile(models.resolve(name + "-q").resolve("model.onnx"))) {
                    node.installModel(models, name + "-q");
                }
            }
            // cheapest first, so that a run cut short on a busy machine still answers the most
            if (stages.contains("vectors")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== per-text cosine to the fp32 vector of the same text (min / median), and STSB test Spearman, through the embed API%n"
                                + "| model | form | STS Spearman | STS sentences (%d) | SciFact queries (%d, query role) | SciFact documents (first %d, passage role) |%n"
                                + "|---|---|---|---|---|---|%n",
                        eval.sentences.size(),
                        eval.queries.size(),
                        eval.docSample.size());
                for (String name : names) {
                    eval.vectors(name, withQ);
                }
            }
            if (stages.contains("int8")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== SciFact nDCG@10, exact embed_knn, every document encoded by the derived int8 model%n");
                for (String name : names) {
                    System.out.printf(Locale.ROOT, "| %s-int8 | %.2f |%n", name, eval.ndcg(name + "-int8"));
                }
            }
            if (stages.contains("fp32")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== SciFact nDCG@10, exact embed_knn, documents encoded in fp32, queries in fp32 and in int8%n");
                for (String name : names) {
                    eval.compareQueries(name, index(name), eval.ndcg(name));
                }
            }
            if (stages.contains("mixed")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== SciFact nDCG@10, exact embed_knn, the fp32 document vectors saved by"
                                + " `bench.sh vectors encode`, queries in fp32 and in int8%n");
                for (String name : names) {
                    Path saved = VectorsEncode.corpusFile("scifact", name);
                    if (Files.isRegularFile(saved) == false) {
                        System.out.printf(
                                Locale.ROOT, "| %s | no %s: run src/scripts/bench.sh vectors encode |%n", name, saved);
                        continue;
                    }
                    String index = eval.indexVectors(name, VectorFile.read(saved));
                    eval.compareQueries(name, index, eval.ndcgOf(index, null));
                }
            }
        }
    }

    /**
     * Indexes saved fp32 document vectors as they are into a field bound to {@code model}, so that its queries are
     * encoded by the field's model or by another form named in the query, as a user's would be.
     */
    private String indexVectors(String model, VectorFile corpus) throws Exception {
        String index = "saved-" + model.replace('.', '_');
        check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"vec": {"type": "embedding", "model": "%s"}}}}""", model)));
        corpus.indexInto(node, index);
        return index;
    }

    /** Prints the fp32-query figure of an index bound to {@code model} beside its figure with int8 queries. */
    private void compareQueries(String model, String index, double fp32) throws Exception {
        double int8Queries = ndcgOf(index, model + "-int8");
        System.out.printf(
                Locale.ROOT,
                "| %s | fp32 queries %.2f | int8 queries %.2f (%+.2f) |%n",
                model,
                fp32,
                int8Queries,
                int8Queries - fp32);
    }

    private final RealNode node;
    private final Map<String, String> corpus;
    private final List<String> docSample;
    private final Map<String, String> queries;
    private final Map<String, Map<String, Integer>> qrels;
    private final List<StsPairs.Pair> pairs;
    private final List<String> sentences;

    Int8Eval(RealNode node, Path data) throws Exception {
        this.node = node;
        BeirSet scifact = BeirSet.read(data.resolve("scifact"));
        corpus = scifact.bodies();
        docSample = corpus.values().stream()
                .limit(Integer.getInteger("eval.docs", 300))
                .toList();
        queries = scifact.queries();
        qrels = scifact.qrels();
        pairs = StsPairs.read(data.resolve("stsb/sts-test.csv"));
        List<String> all = new ArrayList<>();
        for (StsPairs.Pair p : pairs) {
            all.add(p.a());
            all.add(p.b());
        }
        sentences = all;
    }

    /** STS Spearman of each form, and the cosine of its vectors to fp32 on sentences, queries and documents. */
    void vectors(String model, boolean withQ) throws Exception {
        List<String> forms = new ArrayList<>(List.of(model, model + "-int8"));
        if (withQ && Boolean.parseBoolean(System.getProperty("eval.int8only", "false")) == false) {
            forms.add(model + "-q");
        }
        List<String> queryTexts = List.copyOf(queries.values());
        float[][] baseSentences = null;
        float[][] baseQueries = null;
        float[][] baseDocs = null;
        for (String form : forms) {
            float[][] s = embed(form, "none", sentences);
            float[][] q = embed(form, "query", queryTexts);
            float[][] d = embed(form, "passage", docSample);
            if (baseSentences == null) {
                baseSentences = s;
                baseQueries = q;
                baseDocs = d;
            }
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %s | %.2f | %s | %s | %s |%n",
                    model,
                    form.equals(model) ? "fp32" : form.substring(model.length() + 1),
                    spearman(s),
                    cos(cosines(s, baseSentences)),
                    cos(cosines(q, baseQueries)),
                    cos(cosines(d, baseDocs)));
        }
    }

    /** Ingests the whole corpus through {@code form} (once) and returns its nDCG@10 x 100 with the field's model. */
    double ndcg(String form) throws Exception {
        String index = index(form);
        double rate = ingest(form, index);
        double ndcg = ndcgOf(index, null);
        System.err.printf(Locale.ROOT, "%s: %.1f docs/s ingest on this (shared) machine%n", form, rate);
        return ndcg;
    }

    private static String index(String form) {
        return "sf-" + form.replace('.', '_');
    }

    /** Ingests the corpus into an index bound to {@code form} through an embed pipeline; returns docs/s. */
    private double ingest(String form, String index) throws Exception {
        check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", form)));
        check(node.call("PUT", "/_ingest/pipeline/" + index, String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", form)));
        double seconds = BulkIngest.bodies(node, index, index, corpus, BULK, form);
        return corpus.size() / seconds;
    }

    /** nDCG@10 x 100 of exact embed_knn over the test queries, with the field's model or {@code model}. */
    private double ndcgOf(String index, String model) throws Exception {
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
            List<RetrievalMetrics.Hit> run = RetrievalMetrics.hits(r.body());
            sum += RetrievalMetrics.ndcg(run, qrels.get(query.getKey()), 10);
            Progress.print("queries", ++n, queries.size(), start);
        }
        System.err.println();
        return 100 * sum / n;
    }

    /** Vectors of {@code texts} for role none through {@code POST /_plugins/_embeddings/embed}. */
    private float[][] embed(String model, String role, List<String> texts) throws Exception {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += 64) {
            List<String> chunk = texts.subList(from, Math.min(texts.size(), from + 64));
            JsonObject body = new JsonObject();
            body.addProperty("model", model);
            body.addProperty("role", role);
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
            predicted[i] = RecipeReference.cosine(v[2 * i], v[2 * i + 1]);
        }
        return 100 * Spearman.correlation(gold, predicted);
    }

    private static double[] cosines(float[][] a, float[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = RecipeReference.cosine(a[i], b[i]);
        }
        return minMedian(c);
    }

    private static double[] minMedian(double[] c) {
        Arrays.sort(c);
        return new double[] {c[0], c[c.length / 2]};
    }

    private static String cos(double[] c) {
        return c == null ? "-" : String.format(Locale.ROOT, "%.4f / %.4f", c[0], c[1]);
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " "
                    + r.text().substring(0, Math.min(2000, r.text().length())));
        }
    }
}

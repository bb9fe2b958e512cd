package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.BulkIngest;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.RetrievalMetrics;
import org.embeddings.testkit.Spearman;
import org.embeddings.testkit.StsPairs;

/**
 * The int8 quality lines, one-sided against fp32, through one real node, with the client batch sizes users use.
 *
 * <p>Five sets, two of them the published ones and three built here from {@code ../shared/data} for this check
 * (never used to choose a recipe):
 * <ul>
 *   <li>STSBenchmark test (1,379 pairs, role none): Spearman;</li>
 *   <li>STSB-normalized: the same pairs lower-cased, punctuation removed and spaces collapsed (other token
 *       sequences, the same gold scores): Spearman;</li>
 *   <li>SciFact (5,183 documents, 300 test queries): nDCG@10 of exact {@code embed_knn}, every document through
 *       {@code _bulk} and an {@code embed} pipeline into a field bound to the form;</li>
 *   <li>SciFact-titles: every fifth SciFact document's title as the query (query role) and the 1,037 abstracts
 *       without their titles as the corpus (passage role), one relevant document each: nDCG@10 of exact
 *       search;</li>
 *   <li>STSB-paraphrases: each STSB pair scored 4 or more, its first sentence as the query and its second as the one
 *       relevant document among all 2,7xx distinct STSB sentences: nDCG@10 of exact search.</li>
 * </ul>
 * The sets scored by exact search in this process take their vectors from {@code POST /_plugins/_embeddings/embed},
 * {@code eval.calls} texts per call (default {@code 1,64,1000}: the int8 form at each size, fp32 at the middle
 * one); SciFact goes through {@code _bulk} at {@code eval.bulks} documents per bulk (default {@code 100,1000}: the
 * int8 form at each, fp32 at the first), and the int8 indexes' stored vectors are compared document by document.
 *
 * <p>Usage: {@code src/scripts/eval.sh int8-quality [MODEL...]} (default: the three Maven Central models);
 * {@code -Deval.stages=embed,scifact}.
 */
public final class Int8QualityEval {
    private static final Pattern PUNCTUATION = Pattern.compile("\\p{Punct}+");

    private final RealNode node;
    private final List<StsPairs.Pair> pairs;
    private final List<StsPairs.Pair> normalized;
    private final List<String> titles = new ArrayList<>();
    private final List<String> abstracts = new ArrayList<>();
    private final List<String> paraphraseQueries = new ArrayList<>();
    private final List<String> paraphraseTargets = new ArrayList<>();
    private final List<String> stsCorpus;
    private final SciFact scifact;

    Int8QualityEval(RealNode node, Path data) throws Exception {
        this.node = node;
        this.pairs = StsPairs.read(data.resolve("stsb/sts-test.csv"));
        this.normalized = pairs.stream()
                .map(p -> new StsPairs.Pair(p.gold(), normalize(p.a()), normalize(p.b())))
                .toList();
        BeirSet set = BeirSet.read(data.resolve("scifact"));
        for (int i = 0; i < set.corpus().size(); i += 5) {
            BeirSet.Doc doc = set.corpus().get(i);
            if (doc.title().isBlank() == false) {
                titles.add(doc.title());
                abstracts.add(doc.text());
            }
        }
        LinkedHashSet<String> distinct = new LinkedHashSet<>();
        for (StsPairs.Pair p : pairs) {
            distinct.add(p.a());
            distinct.add(p.b());
            if (p.gold() >= 4 && p.a().equals(p.b()) == false) {
                paraphraseQueries.add(p.a());
                paraphraseTargets.add(p.b());
            }
        }
        this.stsCorpus = List.copyOf(distinct);
        this.scifact = new SciFact(node, set);
    }

    static String normalize(String s) {
        return PUNCTUATION
                .matcher(s.toLowerCase(Locale.ROOT))
                .replaceAll(" ")
                .replaceAll("\\s+", " ")
                .trim();
    }

    public static void main(String[] args) throws Exception {
        List<String> models =
                args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path modelsDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int[] calls = ints(System.getProperty("eval.calls", "1,64,1000"));
        int[] bulks = ints(System.getProperty("eval.bulks", "100,1000"));
        List<String> stages =
                List.of(System.getProperty("eval.stages", "embed,scifact").split(","));
        try (RealNode node = RealNode.start("eval-int8-quality", Integer.getInteger("eval.port", RealNode.port(67)))) {
            for (String model : models) {
                node.installModel(modelsDir, model);
            }
            Int8QualityEval eval = new Int8QualityEval(node, data);
            if (stages.contains("embed")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== through the embed API: STS Spearman and exact-search nDCG@10 (int8 minus fp32 in brackets),"
                                + " and the per-text cosine of int8 to fp32 over the STSB sentences (min / median)%n"
                                + "| model | form | texts per call | STSB | STSB-normalized | SciFact-titles | STSB-paraphrases | cosine to fp32 |%n"
                                + "|---|---|---|---|---|---|---|---|%n");
                for (String model : models) {
                    eval.embedSets(model, calls);
                }
            }
            if (stages.contains("scifact")) {
                System.out.printf(
                        Locale.ROOT,
                        "%n== SciFact nDCG@10 through _bulk + embed and exact embed_knn%n"
                                + "| model | form | documents per bulk | nDCG@10 | int8 minus fp32 | stored vectors equal to the first int8 index |%n"
                                + "|---|---|---|---|---|---|%n");
                for (String model : models) {
                    eval.scifact(model, bulks);
                }
            }
        }
    }

    private static int[] ints(String list) {
        return Arrays.stream(list.split(","))
                .mapToInt(s -> Integer.parseInt(s.trim()))
                .toArray();
    }

    /** The figures of one form at one call size. */
    private record Figures(double sts, double normalizedSts, double titles, double paraphrases, float[][] sentences) {}

    void embedSets(String model, int[] calls) throws Exception {
        int middle = calls[calls.length / 2];
        Figures fp32 = figures(model, middle);
        print(model, "fp32", middle, fp32, null, null);
        for (int size : calls) {
            Figures int8 = figures(model + "-int8", size);
            print(model, "int8", size, int8, fp32, cosines(int8.sentences(), fp32.sentences()));
        }
    }

    private Figures figures(String form, int perCall) throws Exception {
        List<String> sentences = new ArrayList<>();
        pairs.forEach(p -> {
            sentences.add(p.a());
            sentences.add(p.b());
        });
        float[][] s = embed(form, "none", sentences, perCall);
        List<String> normalizedSentences = new ArrayList<>();
        normalized.forEach(p -> {
            normalizedSentences.add(p.a());
            normalizedSentences.add(p.b());
        });
        float[][] n = embed(form, "none", normalizedSentences, perCall);
        double titleNdcg =
                knownItem(embed(form, "query", titles, perCall), embed(form, "passage", abstracts, perCall), null);
        float[][] corpus = embed(form, "passage", stsCorpus, perCall);
        float[][] queries = embed(form, "query", paraphraseQueries, perCall);
        int[] targets = paraphraseTargets.stream().mapToInt(stsCorpus::indexOf).toArray();
        double paraphrases = knownItem(queries, corpus, targets);
        return new Figures(spearman(s, pairs), spearman(n, normalized), titleNdcg, paraphrases, s);
    }

    private static void print(String model, String form, int perCall, Figures f, Figures fp32, double[] cos) {
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %d | %s | %s | %s | %s | %s |%n",
                model,
                form,
                perCall,
                figure(f.sts(), fp32 == null ? null : fp32.sts()),
                figure(f.normalizedSts(), fp32 == null ? null : fp32.normalizedSts()),
                figure(f.titles(), fp32 == null ? null : fp32.titles()),
                figure(f.paraphrases(), fp32 == null ? null : fp32.paraphrases()),
                cos == null ? "-" : String.format(Locale.ROOT, "%.4f / %.4f", cos[0], cos[1]));
    }

    private static String figure(double value, Double base) {
        return base == null
                ? String.format(Locale.ROOT, "%.2f", value)
                : String.format(Locale.ROOT, "%.2f (%+.2f)", value, value - base);
    }

    /**
     * nDCG@10 x 100 of exact search where query {@code i} has one relevant document, {@code targets[i]} (null: the
     * document of the same position).
     */
    private static double knownItem(float[][] queries, float[][] documents, int[] targets) {
        double sum = 0;
        for (int q = 0; q < queries.length; q++) {
            int target = targets == null ? q : targets[q];
            double own = RecipeReference.cosine(queries[q], documents[target]);
            int above = 0;
            for (int d = 0; d < documents.length; d++) {
                if (d != target && RecipeReference.cosine(queries[q], documents[d]) > own) {
                    above++;
                }
            }
            sum += above < 10 ? 1 / (Math.log(above + 2) / Math.log(2)) : 0;
        }
        return 100 * sum / queries.length;
    }

    private static double spearman(float[][] v, List<StsPairs.Pair> pairs) {
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
        Arrays.sort(c);
        return new double[] {c[0], c[c.length / 2]};
    }

    /** {@code texts} through the embed API, {@code perCall} at a time. */
    private float[][] embed(String model, String role, List<String> texts, int perCall) throws Exception {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += perCall) {
            List<String> chunk = texts.subList(from, Math.min(texts.size(), from + perCall));
            JsonObject body = new JsonObject();
            body.addProperty("model", model);
            body.addProperty("role", role);
            JsonArray array = new JsonArray();
            chunk.forEach(array::add);
            body.add("texts", array);
            RealNode.Response r = node.call("POST", "/_plugins/_embeddings/embed", body.toString());
            SciFact.check(r);
            JsonArray embeddings = r.body().getAsJsonObject().getAsJsonArray("embeddings");
            for (int i = 0; i < chunk.size(); i++) {
                out[from + i] = SciFact.floats(embeddings.get(i).getAsJsonArray());
            }
        }
        return out;
    }

    void scifact(String model, int[] bulks) throws Exception {
        double fp32 = scifact.ndcg(scifact.ingest(model, bulks[0]));
        System.out.printf(Locale.ROOT, "| %s | fp32 | %d | %.2f | - | - |%n", model, bulks[0], fp32);
        String first = null;
        for (int bulk : bulks) {
            String index = scifact.ingest(model + "-int8", bulk);
            double ndcg = scifact.ndcg(index);
            String equal = first == null ? "-" : scifact.sameVectors(first, index);
            first = first == null ? index : first;
            System.out.printf(
                    Locale.ROOT, "| %s | int8 | %d | %.2f | %+.2f | %s |%n", model, bulk, ndcg, ndcg - fp32, equal);
        }
    }

    /** SciFact through a node: ingest through an embed pipeline, exact embed_knn, stored vectors. */
    static final class SciFact {
        private final RealNode node;
        private final Map<String, String> corpus;
        private final List<String> ids;
        private final Map<String, String> queries;
        private final Map<String, Map<String, Integer>> qrels;

        SciFact(RealNode node, BeirSet set) {
            this.node = node;
            this.corpus = set.bodies();
            this.ids = List.copyOf(corpus.keySet());
            this.queries = set.queries();
            this.qrels = set.qrels();
        }

        /** Ingests the corpus through {@code form}, {@code bulk} documents per request; returns the index. */
        String ingest(String form, int bulk) throws Exception {
            String index = "q-" + form.replace('.', '_') + "-" + bulk;
            check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
                 "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", form)));
            check(node.call("PUT", "/_ingest/pipeline/" + index, String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", form)));
            BulkIngest.bodies(node, index, index, corpus, bulk, form);
            return index;
        }

        /** nDCG@10 x 100 of exact embed_knn over the 300 test queries, with the field's model. */
        double ndcg(String index) throws Exception {
            double sum = 0;
            for (Map.Entry<String, String> query : queries.entrySet()) {
                JsonObject params = new JsonObject();
                params.addProperty("query_text", query.getValue());
                params.addProperty("k", 100);
                params.addProperty("exact", true);
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
            }
            return 100 * sum / queries.size();
        }

        /** Whether every document's stored vector is the same float for float in both indexes, and how many differ. */
        String sameVectors(String a, String b) throws Exception {
            int differ = 0;
            for (int from = 0; from < ids.size(); from += 500) {
                JsonArray some = new JsonArray();
                ids.subList(from, Math.min(ids.size(), from + 500)).forEach(some::add);
                JsonObject body = new JsonObject();
                body.add("ids", some);
                JsonArray docsA = docs(a, body);
                JsonArray docsB = docs(b, body);
                for (int i = 0; i < docsA.size(); i++) {
                    if (docsA.get(i)
                                    .getAsJsonObject()
                                    .getAsJsonObject("_source")
                                    .get("vec")
                                    .equals(docsB.get(i)
                                            .getAsJsonObject()
                                            .getAsJsonObject("_source")
                                            .get("vec"))
                            == false) {
                        differ++;
                    }
                }
            }
            return differ == 0 ? "all " + corpus.size() : differ + " of " + corpus.size() + " differ";
        }

        private JsonArray docs(String index, JsonObject body) throws Exception {
            RealNode.Response r = node.call("POST", "/" + index + "/_mget?_source_includes=vec", body.toString());
            check(r);
            return r.body().getAsJsonObject().getAsJsonArray("docs");
        }

        static float[] floats(JsonArray v) {
            float[] f = new float[v.size()];
            for (int d = 0; d < f.length; d++) {
                f[d] = v.get(d).getAsFloat();
            }
            return f;
        }

        static void check(RealNode.Response r) {
            if (r.status() >= 300) {
                throw new IllegalStateException(r.status() + " "
                        + r.text().substring(0, Math.min(2000, r.text().length())));
            }
        }
    }
}

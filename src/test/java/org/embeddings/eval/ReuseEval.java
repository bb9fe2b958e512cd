package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.BulkIngest;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RetrievalMetrics;

/**
 * Inference paid once and vectors stored once, measured on SciFact through a real node, one run, in this order:
 * <ol>
 *   <li>the 5,183 documents ({@code title + " " + text}, as MTEB) through {@code _bulk} + {@code embed} in bulks of
 *       100 from one client: seconds, and the stats API's {@code ingest} counters;</li>
 *   <li>the same documents again, unchanged: seconds (and its ratio to the first pass), texts encoded, the multi-get
 *       cost per document, and whether every stored vector is bit-identical to the first pass's;</li>
 *   <li>{@code _reindex} into a second index whose default pipeline embeds with the same model: texts encoded, and
 *       {@code _reindex} into a third that keeps vectors in its source ({@code index.embeddings.derived_source:
 *       false}, as before this change); both force-merged into one segment: store bytes per document of each, and
 *       {@code embed_knn} nDCG@10 (exact, and HNSW with k = 10 and 100 candidates) on each, with whether their hits
 *       are the same;</li>
 *   <li>500 of the documents changed (a sentence appended) through the pipeline again: texts encoded.</li>
 * </ol>
 *
 * <p>Usage: {@code src/scripts/eval.sh reuse [MODEL] [DATA_DIR]} ({@code -Deval.limit=N} ingests only N documents: a
 * smoke run, not the figures).
 */
public final class ReuseEval {
    private static final int BULK = 100;
    private static final int CHANGED = 500;

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        Path data = Path.of(
                args.length > 1 ? args[1] : System.getProperty("embeddings.data", "../shared/data") + "/scifact");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        try (RealNode node = RealNode.start("reuse-" + model, Integer.getInteger("eval.port", RealNode.port(36)))) {
            node.installModel(models, model);
            new ReuseEval(node, model, data).run();
        }
    }

    private final RealNode node;
    private final String model;
    private final Path data;

    private ReuseEval(RealNode node, String model, Path data) {
        this.node = node;
        this.model = model;
        this.data = data;
    }

    private String mapping(String settings) {
        return String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0%s},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", settings, model);
    }

    void run() throws Exception {
        check(node.call("PUT", "/_ingest/pipeline/reuse", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
        check(node.call("PUT", "/a", mapping("")));
        BeirSet set = BeirSet.read(data);
        Map<String, String> corpus = set.bodies();
        int limit = Integer.getInteger("eval.limit", corpus.size());
        Map<String, String> docs = new LinkedHashMap<>();
        corpus.entrySet().stream().limit(limit).forEach(e -> docs.put(e.getKey(), e.getValue()));
        int n = docs.size();
        System.out.printf(Locale.ROOT, "SciFact: %d documents, model %s%n", n, model);

        Counts c0 = counts();
        double first = ingest("a", docs, "first pass");
        Counts firstCounts = counts().minus(c0);
        Map<String, List<Integer>> firstVectors = vectors("a", docs.keySet());

        Counts c1 = counts();
        double second = ingest("a", docs, "unchanged");
        Counts secondCounts = counts().minus(c1);
        Map<String, List<Integer>> secondVectors = vectors("a", docs.keySet());
        long identical = docs.keySet().stream()
                .filter(id -> firstVectors.get(id).equals(secondVectors.get(id)))
                .count();

        check(node.call("PUT", "/b", mapping(", \"default_pipeline\": \"reuse\"")));
        check(node.call("PUT", "/c", mapping(", \"embeddings.derived_source\": false")));
        Counts c2 = counts();
        long start = System.nanoTime();
        reindex("a", "b");
        double reindexSeconds = (System.nanoTime() - start) / 1e9;
        Counts reindexCounts = counts().minus(c2);
        reindex("a", "c");
        Map<String, List<Integer>> copied = vectors("b", docs.keySet());
        long copiedIdentical = docs.keySet().stream()
                .filter(id -> firstVectors.get(id).equals(copied.get(id)))
                .count();
        for (String index : List.of("b", "c")) {
            check(node.call("POST", "/" + index + "/_forcemerge?max_num_segments=1", null));
            check(node.call("POST", "/" + index + "/_refresh", null));
        }
        long storeB = node.storeBytes("b");
        long storeC = node.storeBytes("c");
        JsonObject vectorsB = node.call("GET", "/_plugins/_embeddings/vectors/b", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("indices")
                .getAsJsonObject("b")
                .getAsJsonObject("fields")
                .getAsJsonObject("vec")
                .getAsJsonObject("primaries");

        Map<String, Map<String, Integer>> qrels = set.qrels();
        Map<String, String> queries = set.queries();
        double[] exact = new double[2];
        double[] hnsw = new double[2];
        int sameHits = 0;
        for (Map.Entry<String, String> q : queries.entrySet()) {
            List<RetrievalMetrics.Hit> eb = search("b", knn(q.getValue(), 100, 0, true));
            List<RetrievalMetrics.Hit> ec = search("c", knn(q.getValue(), 100, 0, true));
            List<RetrievalMetrics.Hit> hb = search("b", knn(q.getValue(), 10, 100, false));
            List<RetrievalMetrics.Hit> hc = search("c", knn(q.getValue(), 10, 100, false));
            Map<String, Integer> rel = qrels.get(q.getKey());
            exact[0] += RetrievalMetrics.ndcg(eb, rel, 10);
            exact[1] += RetrievalMetrics.ndcg(ec, rel, 10);
            hnsw[0] += RetrievalMetrics.ndcg(hb, rel, 10);
            hnsw[1] += RetrievalMetrics.ndcg(hc, rel, 10);
            if (eb.equals(ec) && hb.equals(hc)) {
                sameHits++;
            }
        }
        int nq = queries.size();

        Map<String, String> changed = new LinkedHashMap<>();
        docs.entrySet().stream()
                .limit(Math.min(CHANGED, n))
                .forEach(e -> changed.put(e.getKey(), e.getValue() + " This abstract was revised."));
        Counts c3 = counts();
        double changedSeconds = ingest("a", changed, "changed");
        Counts changedCounts = counts().minus(c3);

        System.out.printf(Locale.ROOT, "%n%-58s %s%n", "step", "figure");
        row("first pass: seconds, docs/s", "%.1f s, %.2f docs/s", first, n / first);
        row("first pass: texts encoded / deduplicated", "%d / %d", firstCounts.encoded, firstCounts.deduplicated);
        row(
                "unchanged pass: seconds, ratio to the first",
                "%.1f s, %.4fx (%.2f ms per document)",
                second,
                second / first,
                1000 * second / n);
        row(
                "unchanged pass: encoded / reused / deduplicated / skipped",
                "%d / %d / %d / %d",
                secondCounts.encoded,
                secondCounts.reused,
                secondCounts.deduplicated,
                secondCounts.skipped);
        row(
                "unchanged pass: multi-get, documents and ms per document",
                "%d, %.3f ms",
                secondCounts.lookups,
                secondCounts.lookups == 0 ? 0 : (double) secondCounts.lookupMillis / secondCounts.lookups);
        row("unchanged pass: vectors bit-identical to the first pass", "%d of %d", identical, n);
        row("_reindex to an index with the same pipeline: seconds", "%.1f s", reindexSeconds);
        row(
                "_reindex: encoded / skipped; copies bit-identical",
                "%d / %d; %d of %d",
                reindexCounts.encoded,
                reindexCounts.skipped,
                copiedIdentical,
                n);
        row(
                "store bytes per document, vectors stored once (force-merged)",
                "%,d (%.3fx of vectors in source)",
                storeB / n,
                (double) storeB / storeC);
        row("store bytes per document, vectors in source too", "%,d", storeC / n);
        row(
                "of which float32 vectors / graph (per document)",
                "%,d / %,d",
                vectorsB.get("raw_bytes").getAsLong() / n,
                vectorsB.get("graph_bytes").getAsLong() / n);
        row(
                "embed_knn exact nDCG@10: stored once / in source",
                "%.2f / %.2f",
                100 * exact[0] / nq,
                100 * exact[1] / nq);
        row(
                "embed_knn HNSW (k 10, 100 candidates) nDCG@10: once / source",
                "%.2f / %.2f",
                100 * hnsw[0] / nq,
                100 * hnsw[1] / nq);
        row("queries whose hits and scores are the same on both", "%d of %d", sameHits, nq);
        row(
                changed.size() + " documents changed: encoded / reused, seconds",
                "%d / %d, %.1f s",
                changedCounts.encoded,
                changedCounts.reused,
                changedSeconds);
    }

    private static void row(String step, String format, Object... args) {
        System.out.printf(Locale.ROOT, "%-58s %s%n", step, String.format(Locale.ROOT, format, args));
    }

    /** Loads {@code docs} through the {@code reuse} pipeline; returns the seconds the bulks took. */
    private double ingest(String index, Map<String, String> docs, String what) throws Exception {
        return BulkIngest.bodies(node, index, "reuse", docs, BULK, what);
    }

    private void reindex(String from, String to) throws Exception {
        RealNode.Response r = node.call(
                "POST",
                "/_reindex?refresh=true&wait_for_completion=true",
                "{\"source\": {\"index\": \"" + from + "\", \"size\": 500}, \"dest\": {\"index\": \"" + to + "\"}}");
        check(r);
        if (r.body().getAsJsonObject().getAsJsonArray("failures").isEmpty() == false) {
            throw new IllegalStateException("reindex failed: " + r.text());
        }
    }

    /** Every document's vector, as the bits of its floats. */
    private Map<String, List<Integer>> vectors(String index, Iterable<String> ids) throws Exception {
        Map<String, List<Integer>> out = new HashMap<>();
        List<String> batch = new ArrayList<>();
        for (String id : ids) {
            batch.add(id);
            if (batch.size() == 500) {
                mget(index, batch, out);
                batch.clear();
            }
        }
        if (batch.isEmpty() == false) {
            mget(index, batch, out);
        }
        return out;
    }

    private void mget(String index, List<String> ids, Map<String, List<Integer>> out) throws Exception {
        JsonObject request = new JsonObject();
        JsonArray array = new JsonArray();
        ids.forEach(array::add);
        request.add("ids", array);
        RealNode.Response r = node.call("POST", "/" + index + "/_mget?_source_includes=vec", request.toString());
        check(r);
        for (JsonElement doc : r.body().getAsJsonObject().getAsJsonArray("docs")) {
            JsonArray v = doc.getAsJsonObject().getAsJsonObject("_source").getAsJsonArray("vec");
            List<Integer> bits = new ArrayList<>(v.size());
            v.forEach(x -> bits.add(Float.floatToIntBits(x.getAsFloat())));
            out.put(doc.getAsJsonObject().get("_id").getAsString(), bits);
        }
    }

    private static String knn(String text, int k, int candidates, boolean exact) {
        JsonObject params = new JsonObject();
        params.addProperty("query_text", text);
        params.addProperty("k", k);
        if (candidates > 0) {
            params.addProperty("num_candidates", candidates);
        }
        if (exact) {
            params.addProperty("exact", true);
        }
        JsonObject field = new JsonObject();
        field.add("vec", params);
        JsonObject query = new JsonObject();
        query.add("embed_knn", field);
        JsonObject request = new JsonObject();
        request.addProperty("size", k);
        request.addProperty("_source", false);
        request.add("query", query);
        return request.toString();
    }

    private List<RetrievalMetrics.Hit> search(String index, String request) throws Exception {
        RealNode.Response r = node.call("POST", "/" + index + "/_search", request);
        check(r);
        List<RetrievalMetrics.Hit> run = RetrievalMetrics.hits(r.body());
        return run;
    }

    /** The node's {@code ingest} counters of the model. */
    private record Counts(long encoded, long reused, long deduplicated, long skipped, long lookups, long lookupMillis) {
        Counts minus(Counts o) {
            return new Counts(
                    encoded - o.encoded,
                    reused - o.reused,
                    deduplicated - o.deduplicated,
                    skipped - o.skipped,
                    lookups - o.lookups,
                    lookupMillis - o.lookupMillis);
        }
    }

    private Counts counts() throws Exception {
        JsonObject nodes = node.call("GET", "/_plugins/_embeddings/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        JsonObject ingest =
                nodes.entrySet().iterator().next().getValue().getAsJsonObject().getAsJsonObject("ingest");
        if (ingest == null || ingest.has(model) == false) {
            return new Counts(0, 0, 0, 0, 0, 0);
        }
        JsonObject m = ingest.getAsJsonObject(model);
        return new Counts(
                m.get("encoded").getAsLong(),
                m.get("reused").getAsLong(),
                m.get("deduplicated").getAsLong(),
                m.get("skipped").getAsLong(),
                m.get("lookups").getAsLong(),
                m.get("lookup_millis").getAsLong());
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text());
        }
    }
}

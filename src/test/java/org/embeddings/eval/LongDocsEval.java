package org.embeddings.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.embeddings.testkit.BulkIngest;
import org.embeddings.testkit.LongDocs;
import org.embeddings.testkit.Progress;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RetrievalMetrics;

/**
 * Long documents through a real node: for each model, the long-document set ({@link LongDocs#concatenated}, SciFact's
 * abstracts four to a document) and SciFact itself are indexed twice through {@code embed}, once as one vector per
 * document (truncated to the model's limit) and once as passages ({@code chunking}, the defaults unless
 * {@code -Deval.chunking} gives options), each timed (documents/s) and counted (tokens encoded, from the node's
 * stats); then every test query runs as {@code embed_knn} on the whole-document vector, {@code embed_knn} in a
 * {@code nested} query on the passages, BM25, and {@code fusion} of BM25 and passages (linear over min-max
 * normalized scores, and RRF), and nDCG@10 and Recall@100 are printed as pytrec_eval computes them.
 *
 * <p>Usage: {@code src/scripts/eval.sh longdocs [MODEL...]} (default: the three Maven Central models);
 * {@code -Deval.sets=longdocs,scifact} chooses the sets ({@link LongDocs#named}: also {@code longdocs-alt},
 * {@code longdocs-runon}, {@code longdocs-untitled} and {@code longdocs-untitled-runon}), {@code -Deval.indexing=whole,passages,titled} the ways of indexing (each method runs when
 * its index is built; BM25 on any; {@code titled}, on SciFact only and skipped on the long sets: passages of the text
 * with chunking's {@code title_field} giving each document's title), {@code -Deval.node.settings=a=b,c=d} adds node
 * settings (for example {@code embeddings.onnx.intra_op_threads=1}).
 */
public final class LongDocsEval {
    private static final int BULK = 64;
    private static final int K = 100;

    public static void main(String[] args) throws Exception {
        List<String> models =
                args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2");
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact");
        Path modelDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        List<String> sets =
                List.of(System.getProperty("eval.sets", "longdocs,scifact").split(","));
        String chunking = System.getProperty("eval.chunking", "{}");
        List<String> indexing =
                List.of(System.getProperty("eval.indexing", "whole,passages").split(","));
        String[] settings = System.getProperty("eval.node.settings", "").isEmpty()
                ? new String[0]
                : System.getProperty("eval.node.settings").split(",");
        try (RealNode node =
                RealNode.start("eval-longdocs", Integer.getInteger("eval.port", RealNode.port(74)), settings)) {
            LongDocsEval eval = new LongDocsEval(
                    node,
                    chunking,
                    indexing.contains("whole"),
                    indexing.contains("passages"),
                    indexing.contains("titled") ? LongDocs.titles(data) : null);
            for (String model : models) {
                node.installModel(modelDir, model);
                for (String set : sets) {
                    // titled indexing needs documents with one title each: SciFact's, not the long documents'
                    eval.run(model, set, LongDocs.named(set, data), set.equals("scifact"));
                }
            }
        }
    }

    private final RealNode node;
    private final String chunking;
    private final boolean indexWhole;
    private final boolean indexPassages;
    /** Titles by document id, to index passages with chunking's title_field as well; null: not that way. */
    private final Map<String, String> titles;

    LongDocsEval(
            RealNode node, String chunking, boolean indexWhole, boolean indexPassages, Map<String, String> titles) {
        this.node = node;
        this.chunking = chunking;
        this.indexWhole = indexWhole;
        this.indexPassages = indexPassages;
        this.titles = titles;
    }

    void run(String model, String set, LongDocs docs, boolean titledSet) throws Exception {
        boolean titledIndex = titledSet && titles != null;
        String base = (set + "-" + model).replace('.', '_');
        String whole = base + "-whole";
        String passages = base + "-passages";
        String titled = base + "-titled";
        check(node.call("PUT", "/" + whole, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
        check(node.call("PUT", "/" + passages, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"properties": {"body": {"type": "text"},
               "passages": {"type": "nested", "properties": {
                 "vec": {"type": "embedding", "model": "%s"}, "start": {"type": "integer"}, "end": {"type": "integer"}}}}}}""", model)));
        if (titledIndex) {
            // body as in the other indices (BM25 reads it); the passages from the text apart from its title
            check(node.call("PUT", "/" + titled, String.format(Locale.ROOT, """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
                 "mappings": {"properties": {"body": {"type": "text"}, "title": {"type": "text"}, "text": {"type": "text"},
                   "passages": {"type": "nested", "properties": {
                     "vec": {"type": "embedding", "model": "%s"}, "start": {"type": "integer"}, "end": {"type": "integer"}}}}}}""", model)));
            JsonObject withTitle = JsonParser.parseString(chunking).getAsJsonObject();
            withTitle.addProperty("title_field", "title");
            check(node.call("PUT", "/_ingest/pipeline/" + titled, String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"text": "passages.vec"}, "chunking": %s}}]}""", model, withTitle)));
        }
        check(node.call("PUT", "/_ingest/pipeline/" + whole, String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
        check(node.call("PUT", "/_ingest/pipeline/" + passages, String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "passages.vec"}, "chunking": %s}}]}""", model, chunking)));

        System.out.printf(
                Locale.ROOT,
                "%n== %s, %s: %d documents, %d queries; chunking %s%n",
                model,
                set,
                docs.documents().size(),
                docs.queries().size(),
                chunking);
        System.out.printf(
                Locale.ROOT,
                "%-26s %10s %16s %10s %10s%n",
                "indexing",
                "docs/s",
                "tokens encoded",
                "vectors",
                "seconds");
        Map<String, Function<String, List<RetrievalMetrics.Hit>>> methods = new LinkedHashMap<>();
        if (indexWhole) {
            ingest(model, whole, docs, "whole (truncated)", false, false);
            methods.put("embed_knn whole (truncated)", text -> search(whole, knn(text)));
        }
        if (indexPassages) {
            ingest(model, passages, docs, "passages", true, false);
            methods.put("embed_knn passages", text -> search(passages, nested(text)));
            methods.put("embed_knn passages, exact", text -> search(passages, nestedExact(text)));
        }
        if (titledIndex) {
            ingest(model, titled, docs, "passages, title_field", true, true);
            methods.put("embed_knn passages, title", text -> search(titled, nested(text)));
            methods.put("embed_knn passages, title, exact", text -> search(titled, nestedExact(text)));
            methods.put("fusion linear bm25+titled", text -> search(titled, linearFusion(text)));
        }
        String any = indexPassages ? passages : titledIndex ? titled : whole;
        methods.put("bm25", text -> search(any, match(text)));
        if (indexPassages) {
            methods.put("fusion linear bm25+passages", text -> search(passages, linearFusion(text)));
            methods.put(
                    "fusion rrf bm25+passages",
                    text -> search(passages, String.format(Locale.ROOT, """
                {"fusion": {"method": "rrf", "window_size": %d, "queries": [%s, %s]}}""", K, match(text), nested(text))));
        }
        Map<String, double[]> sums = new LinkedHashMap<>();
        methods.keySet().forEach(m -> sums.put(m, new double[2]));
        long start = System.nanoTime();
        int n = 0;
        for (Map.Entry<String, String> q : docs.queries().entrySet()) {
            for (Map.Entry<String, Function<String, List<RetrievalMetrics.Hit>>> m : methods.entrySet()) {
                List<RetrievalMetrics.Hit> run = m.getValue().apply(q.getValue());
                Map<String, Integer> judged = docs.qrels().get(q.getKey());
                sums.get(m.getKey())[0] += RetrievalMetrics.ndcg(run, judged, 10);
                sums.get(m.getKey())[1] += RetrievalMetrics.recall(run, judged, 100);
            }
            Progress.print("queries", ++n, docs.queries().size(), start);
        }
        System.err.println();
        System.out.printf(Locale.ROOT, "%-30s %8s %11s%n", "method", "nDCG@10", "Recall@100");
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            System.out.printf(
                    Locale.ROOT,
                    "%-30s %8.2f %11.2f%n",
                    e.getKey(),
                    100 * e.getValue()[0] / n,
                    100 * e.getValue()[1] / n);
        }
        // the next set or model starts from a clean node: these indices hold most of its memory
        check(node.call("DELETE", "/" + whole + "," + passages + "," + titled + "?ignore_unavailable=true", null));
    }

    /** {@code titled}: each document's title and text apart too, for a pipeline with chunking's title_field. */
    private void ingest(String model, String index, LongDocs docs, String label, boolean passages, boolean titled)
            throws Exception {
        long tokensBefore = tokens(model);
        Map<String, JsonObject> sources = new LinkedHashMap<>();
        for (Map.Entry<String, String> doc : docs.documents().entrySet()) {
            JsonObject source = new JsonObject();
            source.addProperty("body", doc.getValue());
            if (titled) {
                String title = titles.get(doc.getKey());
                source.addProperty("title", title);
                source.addProperty("text", LongDocs.untitled(doc.getValue(), title));
            }
            sources.put(doc.getKey(), source);
        }
        int total = sources.size();
        double seconds = BulkIngest.sources(node, index, index, sources, BULK, "ingest");
        long encoded = tokens(model) - tokensBefore;
        // Lucene documents: parents plus their nested passages
        long luceneDocs = node.call("GET", "/" + index + "/_stats/docs", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_all")
                .getAsJsonObject("primaries")
                .getAsJsonObject("docs")
                .get("count")
                .getAsLong();
        long vectors = passages ? luceneDocs - total : total;
        System.out.printf(
                Locale.ROOT, "%-26s %10.2f %16d %10d %10.0f%n", label, total / seconds, encoded, vectors, seconds);
    }

    private long tokens(String model) throws Exception {
        JsonObject nodes = node.call("GET", "/_plugins/_embeddings/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        for (String id : nodes.keySet()) {
            JsonObject models = nodes.getAsJsonObject(id).getAsJsonObject("models");
            if (models != null && models.has(model)) {
                return models.getAsJsonObject(model).get("tokens").getAsLong();
            }
        }
        return 0;
    }

    private static String knn(String text) {
        return "{\"embed_knn\": {\"vec\": {\"query_text\": " + quote(text) + ", \"k\": " + K + "}}}";
    }

    private static String nested(String text) {
        return "{\"nested\": {\"path\": \"passages\", \"score_mode\": \"max\", \"query\": {\"embed_knn\": {\"passages.vec\": {\"query_text\": "
                + quote(text) + ", \"k\": " + K + "}}}}}";
    }

    /** {@link #nested} with exact search: every passage scored, the best per document (no HNSW approximation). */
    private static String nestedExact(String text) {
        return nested(text).replace("\"k\": " + K + "}", "\"k\": " + K + ", \"exact\": true}");
    }

    /** Linear fusion (min-max) of BM25 and the passages' {@code nested} query. */
    private static String linearFusion(String text) {
        return String.format(Locale.ROOT, """
            {"fusion": {"method": "linear", "normalization": "min_max", "window_size": %d, "queries": [%s, %s]}}""", K, match(text), nested(text));
    }

    private static String match(String text) {
        return "{\"match\": {\"body\": " + quote(text) + "}}";
    }

    private static String quote(String text) {
        return new JsonPrimitive(text).toString();
    }

    /** The top 100 ids and scores of {@code query} on {@code index}. */
    private List<RetrievalMetrics.Hit> search(String index, String query) {
        try {
            String request = "{\"size\": " + K + ", \"_source\": false, \"query\": " + query + "}";
            RealNode.Response r = node.call("POST", "/" + index + "/_search", request);
            check(r);
            return RetrievalMetrics.hits(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text());
        }
    }
}

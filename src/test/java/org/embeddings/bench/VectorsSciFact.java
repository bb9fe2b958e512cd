package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RetrievalMetrics;
import org.embeddings.testkit.VectorFile;
import org.embeddings.testkit.VectorLayout;
import org.embeddings.testkit.VectorsEncode;

/**
 * Every vector format on SciFact with real bge-small-en-v1.5 vectors (encoded once by {@code vectors encode}), on a
 * real node, vectors ingested directly (no inference): per {@code index_options} and per {@code oversample},
 * nDCG@10 (k = 10) and Recall@100 (k = 100) computed as pytrec_eval does; the build (bulk + refresh) and force-merge
 * times; the index size on disk and the vector bytes per part (from the vector stats endpoint); and query latency
 * with {@code query_vector}, measured in rounds that interleave the formats, p50 of all rounds, with its ratio to
 * float32 HNSW from the same run.
 *
 * <p>Usage: {@code bench.sh vectors scifact [ROUNDS] [OVERSAMPLES]}, e.g. {@code bench.sh vectors scifact 3 0,1,2,3,5,8}.
 */
final class VectorsSciFact {
    private VectorsSciFact() {}

    static void run(int rounds, List<String> oversamples, Path data) throws Exception {
        String model = "bge-small-en-v1.5";
        VectorFile corpus = VectorFile.read(VectorsEncode.corpusFile("scifact", model));
        VectorFile queries = VectorFile.read(VectorsEncode.queriesFile("scifact", model));
        Map<String, Map<String, Integer>> qrels = BeirSet.read(data).qrels();
        System.out.printf(
                Locale.ROOT,
                "SciFact: %d documents, %d test queries, %s vectors of %d dims%n",
                corpus.size(),
                queries.size(),
                model,
                corpus.dims());
        try (RealNode node = RealNode.start("vectors-scifact", RealNode.port(77))) {
            Map<VectorLayout, String> indices = new LinkedHashMap<>();
            int n = 0;
            for (VectorLayout layout : VectorLayout.formats()) {
                String index = "scifact-" + n++;
                indices.put(layout, index);
                build(node, index, layout, corpus);
            }
            System.out.printf(
                    Locale.ROOT,
                    "%n%-26s %8s %8s %10s %10s %10s %12s %11s %9s%n",
                    "format",
                    "bulk s",
                    "merge s",
                    "store MB",
                    "raw MB",
                    "quant MB",
                    "graph MB",
                    "search MB",
                    "vs float");
            long floatSearchPath = 0;
            for (Map.Entry<VectorLayout, String> e : indices.entrySet()) {
                JsonObject p = vectorStats(node, e.getValue());
                long store = node.storeBytes(e.getValue());
                long searchPath = p.get("search_path_bytes").getAsLong();
                if (floatSearchPath == 0) {
                    floatSearchPath = searchPath;
                }
                double[] t = BUILD_SECONDS.get(e.getValue());
                System.out.printf(
                        Locale.ROOT,
                        "%-26s %8.1f %8.1f %10.2f %10.2f %10.2f %12.2f %11.2f %9.3f%n",
                        e.getKey().label(),
                        t[0],
                        t[1],
                        store / 1e6,
                        p.get("raw_bytes").getAsLong() / 1e6,
                        p.get("quantized_bytes").getAsLong() / 1e6,
                        p.get("graph_bytes").getAsLong() / 1e6,
                        searchPath / 1e6,
                        (double) searchPath / floatSearchPath);
            }

            System.out.printf(
                    Locale.ROOT,
                    "%n%-26s %10s %8s %22s %22s %12s%n",
                    "format",
                    "oversample",
                    "rescore",
                    "nDCG@10 (candidates 15)",
                    "nDCG@10 (candidates 100)",
                    "Recall@100");
            for (Map.Entry<VectorLayout, String> e : indices.entrySet()) {
                boolean quantized = e.getKey().quantized();
                List<String> settings = new ArrayList<>();
                settings.add(null);
                if (quantized) {
                    settings.addAll(oversamples);
                }
                for (String oversample : settings) {
                    quality(node, e.getKey().label(), quantized, e.getValue(), oversample, false, queries, qrels);
                }
            }
            quality(
                    node,
                    "exact float32 (ground)",
                    false,
                    indices.values().iterator().next(),
                    null,
                    true,
                    queries,
                    qrels);

            // latency: k = 10 with the default oversample, 100 candidates, formats interleaved round by round
            Map<VectorLayout, List<Double>> client = new LinkedHashMap<>();
            indices.keySet().forEach(k -> client.put(k, new ArrayList<>()));
            for (Map.Entry<VectorLayout, String> e : indices.entrySet()) {
                for (int q = 0; q < queries.size(); q++) {
                    search(
                            node,
                            e.getValue(),
                            queries.vectors()[q],
                            10,
                            100,
                            null,
                            false,
                            null); // warm the page cache and JIT
                }
            }
            for (int round = 0; round < rounds; round++) {
                for (Map.Entry<VectorLayout, String> e : indices.entrySet()) {
                    for (int q = 0; q < queries.size(); q++) {
                        long start = System.nanoTime();
                        search(node, e.getValue(), queries.vectors()[q], 10, 100, null, false, null);
                        client.get(e.getKey()).add((System.nanoTime() - start) / 1e6);
                    }
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "%n%-26s %14s %14s %16s%n",
                    "format (k=10, 100 cand.)",
                    "client p50 ms",
                    "client p99 ms",
                    "p50 vs float");
            double floatP50 = Double.NaN;
            for (VectorLayout k : indices.keySet()) {
                double c = percentile(client.get(k), 50);
                if (Double.isNaN(floatP50)) {
                    floatP50 = c;
                }
                System.out.printf(
                        Locale.ROOT,
                        "%-26s %14.2f %14.2f %16.2f%n",
                        k.label(),
                        c,
                        percentile(client.get(k), 99),
                        c / floatP50);
            }
        }
    }

    private static final Map<String, double[]> BUILD_SECONDS = new HashMap<>();

    private static void build(RealNode node, String index, VectorLayout layout, VectorFile corpus) throws Exception {
        String field = layout.field(corpus.dims());
        check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
             "mappings": {"_source": {"excludes": ["vec"]}, "properties": {"vec": %s}}}""", field)));
        long start = System.nanoTime();
        corpus.indexInto(node, index);
        double bulkSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        check(node.call("POST", "/" + index + "/_forcemerge?max_num_segments=1", null));
        check(node.call("POST", "/" + index + "/_refresh", null));
        check(node.call("POST", "/" + index + "/_flush", null));
        BUILD_SECONDS.put(index, new double[] {bulkSeconds, (System.nanoTime() - start) / 1e9});
    }

    static JsonObject vectorStats(RealNode node, String index) throws Exception {
        RealNode.Response r = node.call("GET", "/_plugins/_embeddings/vectors/" + index, null);
        check(r);
        return r.body()
                .getAsJsonObject()
                .getAsJsonObject("indices")
                .getAsJsonObject(index)
                .getAsJsonObject("fields")
                .getAsJsonObject("vec")
                .getAsJsonObject("primaries");
    }

    /** nDCG@10 at k = 10 with the default and with 100 candidates, Recall@100 at k = 100 (default candidates). */
    private static void quality(
            RealNode node,
            String name,
            boolean quantized,
            String index,
            String oversample,
            boolean exact,
            VectorFile queries,
            Map<String, Map<String, Integer>> qrels)
            throws Exception {
        double ndcgDefault = 0;
        double ndcg100 = 0;
        double recall = 0;
        for (int q = 0; q < queries.size(); q++) {
            Map<String, Integer> judged = qrels.get(queries.ids().get(q));
            float[] v = queries.vectors()[q];
            ndcgDefault += RetrievalMetrics.ndcg(search(node, index, v, 10, null, oversample, exact, null), judged, 10);
            ndcg100 += RetrievalMetrics.ndcg(search(node, index, v, 10, 100, oversample, exact, null), judged, 10);
            recall += RetrievalMetrics.recall(search(node, index, v, 100, null, oversample, exact, null), judged, 100);
        }
        String label = oversample == null ? (exact ? "-" : "default") : oversample;
        System.out.printf(
                Locale.ROOT,
                "%-26s %10s %8s %22.2f %22.2f %12.2f%n",
                name,
                label,
                quantized ? (label.equals("0") ? "no" : "float32") : "-",
                100 * ndcgDefault / queries.size(),
                100 * ndcg100 / queries.size(),
                100 * recall / queries.size());
    }

    static List<RetrievalMetrics.Hit> search(
            RealNode node,
            String index,
            float[] vector,
            int k,
            Integer candidates,
            String oversample,
            boolean exact,
            double[] took)
            throws Exception {
        String extra = (candidates == null ? "" : ", \"num_candidates\": " + candidates)
                + (oversample == null ? "" : ", \"oversample\": " + oversample)
                + (exact ? ", \"exact\": true" : "");
        RealNode.Response r = node.call(
                "POST",
                "/" + index + "/_search",
                String.format(Locale.ROOT, """
            {"size": %d, "_source": false, "query": {"embed_knn": {"vec": {"query_vector": %s, "k": %d%s}}}}""", k, Arrays.toString(vector), k, extra));
        check(r);
        if (took != null) {
            took[0] = r.body().getAsJsonObject().get("took").getAsDouble();
        }
        JsonArray hits = r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
        List<RetrievalMetrics.Hit> run = new ArrayList<>();
        for (JsonElement h : hits) {
            run.add(new RetrievalMetrics.Hit(
                    h.getAsJsonObject().get("_id").getAsString(),
                    h.getAsJsonObject().get("_score").getAsDouble()));
        }
        return run;
    }

    static double percentile(List<Double> values, double p) {
        double[] sorted =
                values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " "
                    + r.text().substring(0, Math.min(2000, r.text().length())));
        }
    }
}

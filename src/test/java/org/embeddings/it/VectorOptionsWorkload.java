package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.VectorLayout;

/**
 * One index with an {@code embedding} field per layout of the {@link VectorLayout} catalogue, named after it, the same
 * vectors in each (no model: vectors given directly), and the hits of a fixed set of {@code query_vector} queries per field: what the
 * restart, relocation and force-merge tests compare before and after.
 *
 * <p>Documents come in tight groups of ten around random centroids, and each query lies near one centroid, so each
 * query has ten clear neighbours; two batches of 750 make two segments, each large enough for Lucene to build a
 * graph (a segment below about 650 vectors is searched exhaustively instead).
 */
final class VectorOptionsWorkload {
    static final int DIMS = 64;
    static final int BATCH = 750;
    static final int GROUPS = 160;
    /** Field name -> layout: every layout of the catalogue. */
    static final Map<String, VectorLayout> FIELDS = new LinkedHashMap<>();

    static {
        for (VectorLayout layout : VectorLayout.values()) {
            FIELDS.put(layout.label(), layout);
        }
    }

    private final float[][] centroids = new float[GROUPS][DIMS];

    VectorOptionsWorkload() {
        Random random = new Random(41);
        for (float[] c : centroids) {
            for (int d = 0; d < DIMS; d++) {
                c[d] = (float) random.nextGaussian();
            }
        }
    }

    private float[] near(int group, Random random) {
        float[] v = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            v[d] = centroids[group][d] + 0.3f * (float) random.nextGaussian();
        }
        return v;
    }

    static void check(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    void createIndex(RealNode node, String index, int shards, int replicas) throws Exception {
        StringBuilder properties = new StringBuilder();
        for (Map.Entry<String, VectorLayout> f : FIELDS.entrySet()) {
            properties
                    .append(properties.length() == 0 ? "" : ", ")
                    .append('"')
                    .append(f.getKey())
                    .append("\": ")
                    .append(f.getValue().field(DIMS));
        }
        check(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": %d, "number_of_replicas": %d, "refresh_interval": "-1"},
             "mappings": {"properties": {%s}}}""", shards, replicas, properties)));
    }

    /** Two batches, each refreshed into its own segment. */
    void ingest(RealNode node, String index) throws Exception {
        Random random = new Random(43);
        for (int batch = 0; batch < 2; batch++) {
            StringBuilder bulk = new StringBuilder();
            for (int i = batch * BATCH; i < (batch + 1) * BATCH; i++) {
                String vector = Arrays.toString(near(i % GROUPS, random));
                bulk.append("{\"index\": {\"_id\": \"").append(i).append("\"}}\n{");
                boolean first = true;
                for (String field : FIELDS.keySet()) {
                    bulk.append(first ? "" : ", ")
                            .append('"')
                            .append(field)
                            .append("\": ")
                            .append(vector);
                    first = false;
                }
                bulk.append("}\n");
            }
            RealNode.Response r = node.call("POST", "/" + index + "/_bulk", bulk.toString(), "application/x-ndjson");
            check(r);
            assertFalse(
                    r.text().substring(0, Math.min(1000, r.text().length())),
                    r.body().getAsJsonObject().get("errors").getAsBoolean());
            check(node.call("POST", "/" + index + "/_refresh", null));
        }
    }

    /** Per field, per query: the hits as {@code id@score}, best first. */
    Map<String, List<List<String>>> results(RealNode node, String index) throws Exception {
        Random random = new Random(47);
        List<float[]> queries = new ArrayList<>();
        for (int q = 0; q < 5; q++) {
            queries.add(near(q * 7 % GROUPS, random));
        }
        Map<String, List<List<String>>> out = new LinkedHashMap<>();
        for (String field : FIELDS.keySet()) {
            List<List<String>> perQuery = new ArrayList<>();
            for (float[] q : queries) {
                RealNode.Response r = node.call(
                        "POST",
                        "/" + index + "/_search?preference=_primary_first",
                        String.format(Locale.ROOT, """
                    {"size": 10, "_source": false, "query": {"embed_knn": {"%s": {"query_vector": %s, "k": 10, "num_candidates": 100}}}}""", field, Arrays.toString(q)));
                check(r);
                List<String> hits = new ArrayList<>();
                for (JsonElement h :
                        r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits")) {
                    hits.add(h.getAsJsonObject().get("_id").getAsString() + "@"
                            + h.getAsJsonObject().get("_score").getAsFloat());
                }
                assertEquals(field + ": " + r.text(), 10, hits.size());
                perQuery.add(hits);
            }
            out.put(field, perQuery);
        }
        // every query finds its own group: ids congruent to the query's group
        for (Map.Entry<String, List<List<String>>> field : out.entrySet()) {
            for (int q = 0; q < queries.size(); q++) {
                int group = q * 7 % GROUPS;
                for (String hit : field.getValue().get(q)) {
                    assertEquals(
                            field.getKey() + " query " + q + ": "
                                    + field.getValue().get(q),
                            group,
                            Integer.parseInt(hit.substring(0, hit.indexOf('@'))) % GROUPS);
                }
            }
        }
        return out;
    }

    /**
     * The same hits in the same order with the same scores, up to float32 rounding: a float similarity summed over
     * memory-mapped vectors may differ in its last bit from the same sum over a copy on the heap.
     */
    static void assertSameResults(
            String when, Map<String, List<List<String>>> expected, Map<String, List<List<String>>> actual) {
        assertEquals(when, expected.keySet(), actual.keySet());
        for (String field : expected.keySet()) {
            for (int q = 0; q < expected.get(field).size(); q++) {
                List<String> e = expected.get(field).get(q);
                List<String> a = actual.get(field).get(q);
                String why = when + ", field " + field + ", query " + q + ": " + e + " against " + a;
                assertEquals(why, e.size(), a.size());
                for (int i = 0; i < e.size(); i++) {
                    String[] eh = e.get(i).split("@");
                    String[] ah = a.get(i).split("@");
                    assertEquals(why, eh[0], ah[0]);
                    assertEquals(why, Float.parseFloat(eh[1]), Float.parseFloat(ah[1]), 1e-6f);
                }
            }
        }
    }

    /** Per field: the primaries' vector statistics from {@code GET /_plugins/_embeddings/vectors/{index}}. */
    static Map<String, JsonObject> vectorStats(RealNode node, String index) throws Exception {
        RealNode.Response r = node.call("GET", "/_plugins/_embeddings/vectors/" + index, null);
        check(r);
        JsonObject fields = r.body()
                .getAsJsonObject()
                .getAsJsonObject("indices")
                .getAsJsonObject(index)
                .getAsJsonObject("fields");
        Map<String, JsonObject> out = new LinkedHashMap<>();
        for (String field : FIELDS.keySet()) {
            out.put(field, fields.getAsJsonObject(field).getAsJsonObject("primaries"));
        }
        return out;
    }

    /** What each layout must have written: graphs for hnsw, none for flat, a quantized copy when quantized. */
    static void checkFormats(Map<String, JsonObject> stats, int segments) {
        for (Map.Entry<String, JsonObject> f : stats.entrySet()) {
            VectorLayout layout = FIELDS.get(f.getKey());
            String why = f.getKey() + ": " + f.getValue();
            assertEquals(why, 2 * BATCH, f.getValue().get("vectors").getAsInt());
            assertEquals(why, segments, f.getValue().get("segments").getAsInt());
            assertEquals(
                    why,
                    2L * BATCH * DIMS * Float.BYTES,
                    f.getValue().get("raw_bytes").getAsLong());
            assertEquals(why, layout.graph(), f.getValue().get("graph_bytes").getAsLong() > 0);
            assertEquals(
                    why, layout.quantized(), f.getValue().get("quantized_bytes").getAsLong() > 0);
        }
    }
}

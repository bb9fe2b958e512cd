package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.embeddings.testkit.RealNode;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Queries and documents under pressure on a real node: query texts of 512 KB leave the query
 * cache within its bytes (it keeps a digest, not the text); past the bound of waiting queries a query gets a 429; a
 * bulk whose encoding outlasts its timeout fails at that deadline with 429 rather than running on; and a first query
 * whose model (an {@code -int8} form a mapping binds) must be built does not hold other models' queries: they are
 * answered while the build runs, and the query itself gets a 503 at its deadline instead of a 504 from a stalled lane.
 * The tests share one node and run in any order: each sends texts of its own, and only the model-building test
 * touches the {@code -int8} field, so no test finds what another left behind.
 */
public class PressureIT {
    private static final long CACHE_BYTES = 64 * 1024;
    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        // 1 GB: building e5-small-v2-int8 takes about 400 MB of heap at its peak, garbage included, which on a 768 MB
        // node trips OpenSearch's real-memory parent breaker for every request (docs/reliability.md)
        node = RealNode.start(
                "pressure",
                RealNode.port(35),
                "embeddings.query_cache.max_bytes=" + CACHE_BYTES + "b",
                "embeddings.query.max_waiting=2");
        node.installModel(Path.of(System.getProperty("embeddings.test.models")), "e5-small-v2");
        ok(node.call("PUT", "/docs", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"},
               "vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
               "e5": {"type": "embedding", "model": "e5-small-v2-int8"}}}}"""));
        ok(node.call("PUT", "/_ingest/pipeline/embed", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        ok(node.call("POST", "/docs/_bulk?pipeline=embed&refresh=true", """
            {"index": {"_id": "1"}}
            {"body": "Glaciers carve valleys as they slowly flow downhill."}
            {"index": {"_id": "2"}}
            {"body": "The recipe needs two eggs and a cup of flour."}
            """, "application/x-ndjson"));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static JsonObject ok(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
        return r.body().getAsJsonObject();
    }

    private static String query(String field, String text, String timeout) {
        return "{" + (timeout == null ? "" : "\"timeout\": \"" + timeout + "\", ") + "\"query\": {\"embed_knn\": {\""
                + field + "\": {\"query_text\": \"" + text + "\", \"k\": 2}}}}";
    }

    private static JsonObject nodeStats() throws Exception {
        JsonObject nodes =
                ok(node.call("GET", "/_plugins/_embeddings/stats", null)).getAsJsonObject("nodes");
        return nodes.entrySet().iterator().next().getValue().getAsJsonObject();
    }

    private static String words(Random random, int chars) {
        StringBuilder sb = new StringBuilder(chars + 16);
        while (sb.length() < chars) {
            sb.append("term").append(random.nextInt(1_000_000)).append(' ');
        }
        return sb.toString();
    }

    @Test
    public void longQueryTextsKeepTheCacheWithinItsBytes() throws Exception {
        Random random = new Random(1);
        for (int i = 0; i < 40; i++) {
            RealNode.Response r = node.call("POST", "/docs/_search", query("vec", words(random, 512 * 1024), null));
            assertEquals(r.text(), 200, r.status());
        }
        JsonObject cache = nodeStats().getAsJsonObject("query_cache");
        assertEquals(cache.toString(), CACHE_BYTES, cache.get("max_bytes").getAsLong());
        assertTrue(cache.toString(), cache.get("bytes").getAsLong() <= CACHE_BYTES);
        // a 384-dim vector and its 32-byte digest key: about 1.7 KB an entry, whatever the text's length
        long entries = cache.get("entries").getAsLong();
        assertTrue(cache.toString(), entries >= 20 && entries <= CACHE_BYTES / 1536);
        assertTrue(cache.toString(), cache.get("bytes").getAsLong() >= entries * 1536);
        assertEquals(200, node.call("GET", "/", null).status());
    }

    @Test
    public void pastTheBoundOfWaitingQueriesAQueryGets429() throws Exception {
        Map<Integer, Integer> statuses = Collections.synchronizedMap(new TreeMap<>());
        List<String> reasons = Collections.synchronizedList(new ArrayList<>());
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 24; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().start(() -> {
                try {
                    String text = words(new Random(100 + client), 4000);
                    RealNode.Response r = node.call("POST", "/docs/_search", query("vec", text, null));
                    statuses.merge(r.status(), 1, Integer::sum);
                    if (r.status() != 200) {
                        reasons.add(r.text());
                    }
                } catch (Exception e) {
                    reasons.add(e.toString());
                }
            }));
        }
        for (Thread t : clients) {
            t.join(120_000);
        }
        assertEquals(
                statuses + " " + reasons,
                24,
                statuses.values().stream().mapToInt(i -> i).sum());
        assertTrue(statuses + " " + reasons, statuses.keySet().stream().allMatch(s -> s == 200 || s == 429));
        assertTrue(statuses.toString(), statuses.getOrDefault(429, 0) > 0 && statuses.getOrDefault(200, 0) > 0);
        assertTrue(reasons.toString(), reasons.stream().allMatch(r -> r.contains("embeddings.query.max_waiting")));
    }

    @Test
    public void aBulkWhoseEncodingOutlastsItsTimeoutFailsAtItsDeadlineWith429() throws Exception {
        Random random = new Random(3);
        StringBuilder bulk = new StringBuilder();
        int docs = 120;
        for (int i = 0; i < docs; i++) {
            bulk.append("{\"index\": {\"_id\": \"long-").append(i).append("\"}}\n");
            bulk.append("{\"body\": \"").append(words(random, 3000)).append("\"}\n");
        }
        long start = System.nanoTime();
        RealNode.Response r =
                node.call("POST", "/docs/_bulk?pipeline=embed&timeout=1s", bulk.toString(), "application/x-ndjson");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(r.text(), 200, r.status());
        Map<Integer, Integer> statuses = new TreeMap<>();
        List<String> acknowledged = new ArrayList<>();
        Set<String> reasons = new TreeSet<>();
        for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
            JsonObject result = item.getAsJsonObject().getAsJsonObject("index");
            int status = result.get("status").getAsInt();
            statuses.merge(status, 1, Integer::sum);
            if (status == 201) {
                acknowledged.add(result.get("_id").getAsString());
            } else {
                String reason = result.getAsJsonObject("error").get("reason").getAsString();
                assertTrue(reason, reason.contains("did not finish within the bulk's timeout [1s]"));
                reasons.add(reason);
            }
        }
        // a slice that began says its own texts were too slow (retrying cannot help); one still queued says it
        // waited behind the others
        assertTrue(
                reasons.toString(),
                reasons.stream()
                        .allMatch(x -> x.contains("takes longer than that on this node; send fewer or shorter texts")
                                || x.contains("waited behind other batches in the document lane; retry later")));
        assertTrue(reasons.toString(), reasons.stream().anyMatch(x -> x.contains("takes longer than that")));
        assertTrue(statuses.toString(), statuses.keySet().stream().allMatch(s -> s == 201 || s == 429));
        assertTrue("120 documents of 512 tokens take seconds: " + statuses, statuses.getOrDefault(429, 0) > 0);
        // every acknowledged document holds its vector, and no refused one was written
        ok(node.call("POST", "/docs/_refresh", null));
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < docs; i++) {
            ids.append(i == 0 ? "" : ",").append("\"long-").append(i).append('"');
        }
        long stored = ok(node.call("POST", "/docs/_count", "{\"query\": {\"ids\": {\"values\": [" + ids + "]}}}"))
                .get("count")
                .getAsLong();
        assertEquals(acknowledged.size(), stored);
        long withVector = ok(node.call(
                        "POST",
                        "/docs/_count",
                        "{\"query\": {\"bool\": {\"filter\": [{\"ids\": {\"values\": [" + ids + "]}},"
                                + " {\"exists\": {\"field\": \"vec\"}}]}}}"))
                .get("count")
                .getAsLong();
        assertEquals(acknowledged.size(), withVector);
        assertTrue(nodeStats().get("document_timeouts").getAsLong() > 0);
        System.out.printf(
                Locale.ROOT,
                "bulk of %d long documents, timeout 1s: %s in %d ms; reasons: %s%n",
                docs,
                statuses,
                millis,
                reasons);
    }

    @Test
    public void aModelBuildingOnItsFirstQueryDoesNotHoldOtherModelsQueries() throws Exception {
        assertEquals(
                200,
                node.call("POST", "/docs/_search", query("vec", "warm up", null))
                        .status());
        // the first query on the e5-small-v2-int8 field starts its build; its own deadline passes while it runs
        RealNode.Response first = node.call("POST", "/docs/_search", query("e5", "where do glaciers flow", "300ms"));
        assertEquals(first.text(), 503, first.status());
        assertTrue(first.text(), first.text().contains("is still loading"));
        // meanwhile queries for the loaded model are answered, while the build still runs
        int answeredDuringTheBuild = 0;
        for (int i = 0; i < 200; i++) {
            RealNode.Response r = node.call("POST", "/docs/_search", query("vec", "question " + i + " on ice", null));
            assertEquals(r.text(), 200, r.status());
            String state = ok(node.call("GET", "/_plugins/_embeddings/models", null))
                    .getAsJsonObject("models")
                    .getAsJsonObject("e5-small-v2-int8")
                    .get("state")
                    .getAsString();
            if (state.equals("loading")) {
                answeredDuringTheBuild++;
            } else {
                break;
            }
        }
        assertTrue("no query was answered while the int8 build ran", answeredDuringTheBuild > 0);
        // and the model is there once built
        RealNode.Response later = null;
        for (int i = 0; i < 240; i++) {
            later = node.call("POST", "/docs/_search", query("e5", "where do glaciers flow", null));
            if (later.status() == 200) {
                break;
            }
            Thread.sleep(500);
        }
        assertEquals(later.text(), 200, later.status());
        assertFalse(later.text(), later.text().contains("error"));
        System.out.printf(
                Locale.ROOT, "queries answered while e5-small-v2-int8 was built: %d%n", answeredDuringTheBuild);
    }
}

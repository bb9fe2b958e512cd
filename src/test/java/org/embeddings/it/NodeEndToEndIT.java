package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RecipeReference;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The walking skeleton on a real node started from the OpenSearch 3.8.0 distribution with the plugin zip installed:
 * mapping, pipeline, bulk ingest through {@code embed}, {@code embed_knn} search, stored and query vectors checked
 * against an independent implementation of the BGE recipe, and bad input answered with 4xx.
 */
public class NodeEndToEndIT {
    private static final String BGE_QUERY = "Represent this sentence for searching relevant passages: ";
    private static final String[][] DOCS = {
        {"photo", "Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen."},
        {"market", "Stock markets fell sharply on Tuesday as investors worried about rising interest rates."},
        {"cookies", "Cream the butter and sugar, fold in chocolate chips and bake the cookies for twelve minutes."},
        {"volcano", "A volcano erupts when magma from beneath the crust rises and escapes through vents."},
        {"football", "The home team won the championship final with a goal in the last minute of extra time."},
        {"heart", "The heart pumps blood through arteries and veins, carrying oxygen to every organ."}
    };

    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        // A short inference queue, so that the backpressure test can fill it; the other tests never queue more than one
        // task.
        node = RealNode.start("e2e", RealNode.port(0), "thread_pool.embeddings.queue_size=2");
        assertOk(node.call("PUT", "/docs", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {
               "kind": {"type": "keyword"},
               "body": {"type": "text"},
               "body_vec": {"type": "embedding", "dims": 384, "similarity": "cosine"}}}}"""));
        assertOk(node.call("PUT", "/_ingest/pipeline/embed-body", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "body_vec"}}}]}"""));
        StringBuilder bulk = new StringBuilder();
        for (String[] doc : DOCS) {
            String kind = doc[0].equals("market") || doc[0].equals("football") ? "news" : "science";
            bulk.append("{\"index\":{\"_id\":\"").append(doc[0]).append("\"}}\n");
            bulk.append("{\"kind\":\"")
                    .append(kind)
                    .append("\",\"body\":\"")
                    .append(doc[1])
                    .append("\"}\n");
        }
        RealNode.Response response = node.call(
                "POST", "/docs/_bulk?pipeline=embed-body&refresh=true", bulk.toString(), "application/x-ndjson");
        assertOk(response);
        assertFalse(
                response.text(), response.body().getAsJsonObject().get("errors").getAsBoolean());
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static void assertOk(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    private static JsonArray hits(RealNode.Response r) {
        assertOk(r);
        return r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
    }

    private static String knn(String text, int k, String filter) {
        return "{\"query\": {\"embed_knn\": {\"body_vec\": {\"query_text\": \"" + text
                + "\", \"model\": \"bge-small-en-v1.5\", \"k\": " + k
                + (filter == null ? "" : ", \"filter\": " + filter) + "}}}}";
    }

    private static float[] vector(JsonElement array) {
        JsonArray a = array.getAsJsonArray();
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    @Test
    public void semanticQueryRanksTheRightDocumentFirst() throws Exception {
        JsonArray hits = hits(node.call("POST", "/docs/_search", knn("how do plants make food from light", 3, null)));
        assertEquals("photo", hits.get(0).getAsJsonObject().get("_id").getAsString());
        hits = hits(node.call("POST", "/docs/_search", knn("which organ moves blood around the body", 3, null)));
        assertEquals("heart", hits.get(0).getAsJsonObject().get("_id").getAsString());
    }

    @Test
    public void filterRestrictsTheNeighbours() throws Exception {
        JsonArray hits = hits(node.call(
                "POST",
                "/docs/_search",
                knn("how do plants make food from light", 6, "{\"term\": {\"kind\": \"news\"}}")));
        List<String> ids = new ArrayList<>();
        hits.forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        assertEquals(2, ids.size());
        assertTrue(ids.toString(), ids.containsAll(List.of("market", "football")));
    }

    @Test
    public void storedAndQueryVectorsFollowThePublishedBgeRecipe() throws Exception {
        Path model = Path.of(System.getProperty("embeddings.test.models")).resolve("bge-small-en-v1.5");
        try (RecipeReference bge = new RecipeReference(model, 512, true)) {
            RealNode.Response doc = node.call("GET", "/docs/_doc/photo", null);
            assertOk(doc);
            float[] stored = vector(
                    doc.body().getAsJsonObject().getAsJsonObject("_source").get("body_vec"));
            float[] expected = bge.embed(DOCS[0][1]);
            assertEquals(384, stored.length);
            assertTrue("passage vector vs recipe", RecipeReference.cosine(stored, expected) >= 0.9999);

            // The query vector is not stored; Lucene's cosine score (1 + cos) / 2 against the stored vector reveals it.
            String query = "how do plants make food from light";
            JsonArray hits = hits(node.call("POST", "/docs/_search", knn(query, 1, null)));
            double score = hits.get(0).getAsJsonObject().get("_score").getAsDouble();
            double withInstruction = (1 + RecipeReference.cosine(bge.embed(BGE_QUERY + query), stored)) / 2;
            double withoutInstruction = (1 + RecipeReference.cosine(bge.embed(query), stored)) / 2;
            assertEquals("query vector carries the BGE instruction", withInstruction, score, 1e-4);
            assertTrue(
                    "the instruction changes the score measurably",
                    Math.abs(withoutInstruction - withInstruction) > 1e-3);
        }
    }

    @Test
    public void bulkIsEncodedInBatchesNotOneTextAtATime() throws Exception {
        JsonObject before =
                node.call("GET", "/_plugins/_embeddings/stats", null).body().getAsJsonObject();
        long requestsBefore = requests(before);
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            bulk.append("{\"index\":{\"_index\":\"batch\"}}\n{\"body\":\"document number ")
                    .append(i)
                    .append(" about batching\"}\n");
        }
        assertOk(node.call(
                "PUT",
                "/batch",
                "{\"mappings\":{\"properties\":{\"body_vec\":{\"type\":\"embedding\",\"dims\":384}}}}"));
        RealNode.Response r =
                node.call("POST", "/_bulk?pipeline=embed-body&refresh=true", bulk.toString(), "application/x-ndjson");
        assertOk(r);
        assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
        long calls = requests(node.call("GET", "/_plugins/_embeddings/stats", null)
                        .body()
                        .getAsJsonObject())
                - requestsBefore;
        assertTrue("40 documents took " + calls + " encoder calls", calls >= 1 && calls <= 4);
    }

    /** The one node's object in the stats response. */
    private static JsonObject localStats(JsonObject stats) {
        JsonObject nodes = stats.getAsJsonObject("nodes");
        assertEquals(stats.toString(), 1, nodes.size());
        return nodes.entrySet().iterator().next().getValue().getAsJsonObject();
    }

    private static long requests(JsonObject stats) {
        JsonObject models = localStats(stats).getAsJsonObject("models");
        return models.has("bge-small-en-v1.5")
                ? models.getAsJsonObject("bge-small-en-v1.5").get("requests").getAsLong()
                : 0;
    }

    @Test
    public void badInputIsAClientErrorAndGoodDocumentsStillLand() throws Exception {
        RealNode.Response wrongDims = node.call("PUT", "/docs/_doc/bad1", "{\"body_vec\": [0.1, 0.2, 0.3]}");
        assertEquals(400, wrongDims.status());
        assertTrue(
                wrongDims.text(),
                wrongDims.text().contains("body_vec") && wrongDims.text().contains("384"));

        RealNode.Response notNumbers = node.call("PUT", "/docs/_doc/bad2", "{\"body_vec\": [\"NaN\"]}");
        assertEquals(400, notNumbers.status());

        RealNode.Response unknownModel = node.call("PUT", "/_ingest/pipeline/bad", """
            {"processors": [{"embed": {"model": "no-such-model", "field_map": {"body": "body_vec"}}}]}""");
        assertEquals(400, unknownModel.status());
        assertTrue(unknownModel.text(), unknownModel.text().contains("no-such-model"));

        String bulk = """
            {"index":{"_index":"mixed","_id":"good"}}
            {"body":"a perfectly good sentence"}
            {"index":{"_index":"mixed","_id":"empty"}}
            {"body":"   "}
            {"index":{"_index":"mixed","_id":"number"}}
            {"body":42}
            {"index":{"_index":"mixed","_id":"good2"}}
            {"body":"another good one"}
            """;
        assertOk(node.call(
                "PUT",
                "/mixed",
                "{\"mappings\":{\"properties\":{\"body_vec\":{\"type\":\"embedding\",\"dims\":384}}}}"));
        RealNode.Response r =
                node.call("POST", "/_bulk?pipeline=embed-body&refresh=true", bulk, "application/x-ndjson");
        JsonArray items = r.body().getAsJsonObject().getAsJsonArray("items");
        assertEquals(201, status(items, 0));
        assertEquals(400, status(items, 1));
        assertEquals(400, status(items, 2));
        assertEquals(201, status(items, 3));
        RealNode.Response count = node.call("GET", "/mixed/_count", null);
        assertEquals(2, count.body().getAsJsonObject().get("count").getAsInt());

        RealNode.Response badK = node.call("POST", "/docs/_search", knn("anything", 0, null));
        assertEquals(400, badK.status());
    }

    private static int status(JsonArray items, int i) {
        return items.get(i)
                .getAsJsonObject()
                .getAsJsonObject("index")
                .get("status")
                .getAsInt();
    }

    @Test
    public void modelsEndpointListsCardsAndInstalledModels() throws Exception {
        RealNode.Response r = node.call("GET", "/_plugins/_embeddings/models", null);
        assertOk(r);
        JsonObject models = r.body().getAsJsonObject().getAsJsonObject("models");
        JsonObject bge = models.getAsJsonObject("bge-small-en-v1.5");
        assertTrue(bge.toString(), bge.get("installed").getAsBoolean());
        assertEquals(384, bge.get("dims").getAsInt());
        assertEquals("cls", bge.get("pooling").getAsString());
        assertEquals(512, bge.get("max_tokens").getAsInt());
        assertEquals(BGE_QUERY, bge.getAsJsonObject("prompts").get("query").getAsString());
        JsonObject e5 = models.getAsJsonObject("e5-small-v2");
        assertFalse(e5.get("installed").getAsBoolean());
        assertFalse(e5.get("loaded").getAsBoolean());
        assertEquals("query: ", e5.getAsJsonObject("prompts").get("query").getAsString());
        assertEquals("mean", e5.get("pooling").getAsString());
        assertTrue(models.keySet().toString(), models.size() >= 20);
    }

    @Test
    public void fusionCombinesBm25AndEmbedKnnOverRest() throws Exception {
        String fusion = """
            {"query": {"fusion": {"queries": [{"match": {"body": "blood"}},
              {"embed_knn": {"body_vec": {"query_text": "organ that pumps", "model": "bge-small-en-v1.5", "k": 3}}}],
              "method": "linear", "normalization": "z_score", "weights": [0.4, 0.6]}}}""";
        JsonArray hits = hits(node.call("POST", "/docs/_search", fusion));
        assertEquals("heart", hits.get(0).getAsJsonObject().get("_id").getAsString());
        RealNode.Response malformed = node.call(
                "POST",
                "/docs/_search",
                "{\"query\": {\"fusion\": {\"queries\": [{\"match_all\": {}}], \"rank_constant\": 0}}}");
        assertEquals(400, malformed.status());
        assertTrue(malformed.text(), malformed.text().contains("[rank_constant] must be within [1, 10000]"));
    }

    @Test
    public void aFullInferenceQueueAnswers429AndNothingElseFails() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            texts.add("\"" + DOCS[i % DOCS.length][1] + " Sentence " + i + " repeats it for length. "
                    + DOCS[(i + 1) % DOCS.length][1] + "\"");
        }
        String body = "{\"model\": \"bge-small-en-v1.5\", \"role\": \"passage\", \"texts\": [" + String.join(",", texts)
                + "]}";
        int clients = 10;
        List<Future<RealNode.Response>> calls = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            for (int i = 0; i < clients; i++) {
                calls.add(pool.submit(() -> node.call("POST", "/_plugins/_embeddings/embed", body)));
            }
            int ok = 0, rejected = 0;
            for (var call : calls) {
                RealNode.Response r = call.get();
                if (r.status() == 200) {
                    ok++;
                } else {
                    assertEquals(r.text(), 429, r.status());
                    assertTrue(r.text(), r.text().contains("rejected_execution_exception"));
                    rejected++;
                }
            }
            // one running and two queued are served; the rest are turned away at once
            assertTrue("ok " + ok, ok >= 3);
            assertTrue("rejected " + rejected, rejected >= 1);
        } finally {
            pool.shutdownNow();
        }
        JsonObject pool2 = localStats(node.call("GET", "/_plugins/_embeddings/stats", null)
                        .body()
                        .getAsJsonObject())
                .getAsJsonObject("thread_pools")
                .getAsJsonObject("embeddings");
        assertTrue(pool2.toString(), pool2.get("rejected").getAsLong() >= 1);
    }

    @Test
    public void statsAndModelsJsonHaveNoDuplicateKeys() throws Exception {
        node.call("POST", "/docs/_search", knn("warm the model", 1, null));
        Map<String, String> expected = Map.of(
                "/_plugins/_embeddings/stats", "\"cluster_name\"",
                "/_plugins/_embeddings/models", "\"bge-small-en-v1.5\"");
        for (String path : expected.keySet()) {
            String raw = node.raw("GET", path);
            // Jackson's strict mode fails on a key written twice in one object, which lenient parsers silently merge
            JsonFactory strict = new JsonFactory();
            strict.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            try (JsonParser parser = strict.createParser(raw)) {
                while (parser.nextToken() != null) {
                    // walking every token is the check
                }
            }
            assertTrue(path + ": " + raw, raw.contains(expected.get(path)));
        }
    }

    @Test
    public void nodeNeverReachesForTheNetwork() throws Exception {
        // the model and its tokenizer (DJL, whose telemetry calls the EC2 metadata address unless opted out) have run
        RealNode.Response warm = node.call("POST", "/docs/_search", knn("warm the model", 1, null));
        assertOk(warm);
        assertEquals(
                1,
                warm.body()
                        .getAsJsonObject()
                        .getAsJsonObject("hits")
                        .getAsJsonArray("hits")
                        .size());
        String log = node.log();
        // the log read is the node's own, written while the model ran: an empty or foreign file would pass the checks
        assertTrue("the node log records the node starting", log.contains("started"));
        assertTrue("the node log records the plugin", log.contains("embeddings"));
        for (String sign : List.of("169.254.169.254", "Denied access", "download", "Downloading")) {
            assertFalse("node log mentions [" + sign + "]", log.contains(sign));
        }
    }
}

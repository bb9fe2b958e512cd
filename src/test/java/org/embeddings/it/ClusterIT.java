package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.embeddings.testkit.BulkLoad;
import org.embeddings.testkit.RealNode;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A 3-node cluster of real OpenSearch processes on loopback ({@code src/scripts/cluster.sh}), each with the plugin
 * and its bundled model: documents bulk-ingested through every node, queries answered identically by every node,
 * statistics gathered from all three, models preloaded where configured, and a node killed during ingest without
 * the loss of any acknowledged document. The steps share one cluster and run in the order {@link #aThreeNodeCluster}
 * calls them: the last takes a node away.
 */
public class ClusterIT {
    private static final int BASE = RealNode.port(20);
    private static final String[] TOPICS = {
        "volcanoes and lava", "baking bread", "football finals", "the human heart", "stock markets"
    };
    private static Path dir;
    private static final List<RealNode> nodes = new ArrayList<>();

    @BeforeClass
    public static void startCluster() throws Exception {
        dir = RealNode.workDir().resolve("cluster");
        RealNode.run(List.of(
                "bash",
                RealNode.script().resolveSibling("cluster.sh").toString(),
                "start",
                dir.toString(),
                Integer.toString(BASE),
                "embeddings.models.preload=bge-small-en-v1.5"));
        for (int i = 1; i <= 3; i++) {
            nodes.add(RealNode.attach(dir.resolve("node-" + i), BASE + i));
        }
    }

    @AfterClass
    public static void stopCluster() throws Exception {
        if (dir != null) {
            RealNode.run(List.of(
                    "bash", RealNode.script().resolveSibling("cluster.sh").toString(), "stop", dir.toString()));
        }
    }

    private static void assertOk(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    private static String doc(int i) {
        return "{\"topic\": \"" + TOPICS[i % TOPICS.length] + "\", \"body\": \"Note " + i + " is about "
                + TOPICS[i % TOPICS.length] + ", written for reader " + (i * 7 % 13) + ".\"}";
    }

    /** The cluster's checks in order: each leaves the cluster as the next expects it, the last kills a node. */
    @Test
    public void aThreeNodeCluster() throws Exception {
        modelsArePreloadedWhenConfigured();
        ingestThroughAnyNodeAndQueryFromAnyNodeIdentically();
        aCustomModelOnSomeNodesAndABrokenOne();
        everyVectorFormatSurvivesShardRelocation();
        killingANodeDuringIngestLosesNoAcknowledgedDocument();
    }

    private void modelsArePreloadedWhenConfigured() throws Exception {
        for (RealNode node : nodes) {
            boolean loaded = false;
            for (int i = 0; i < 120 && loaded == false; i++) {
                RealNode.Response r = node.call("GET", "/_plugins/_embeddings/models", null);
                loaded = r.body()
                        .getAsJsonObject()
                        .getAsJsonObject("models")
                        .getAsJsonObject("bge-small-en-v1.5")
                        .get("loaded")
                        .getAsBoolean();
                Thread.sleep(loaded ? 0 : 500);
            }
            assertTrue("node " + node.httpPort() + " did not preload its model", loaded);
        }
    }

    private void ingestThroughAnyNodeAndQueryFromAnyNodeIdentically() throws Exception {
        RealNode first = nodes.get(0);
        assertOk(first.call("PUT", "/notes", """
            {"settings": {"number_of_shards": 3, "number_of_replicas": 1},
             "mappings": {"properties": {"topic": {"type": "keyword"}, "body": {"type": "text"},
                                         "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
        assertOk(nodes.get(1).call("PUT", "/_ingest/pipeline/notes", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        int docs = 60;
        for (int n = 0; n < 3; n++) {
            StringBuilder bulk = new StringBuilder();
            for (int i = n; i < docs; i += 3) {
                bulk.append("{\"index\": {\"_id\": \"")
                        .append(i)
                        .append("\"}}\n")
                        .append(doc(i))
                        .append('\n');
            }
            RealNode.Response r =
                    nodes.get(n).call("POST", "/notes/_bulk?pipeline=notes", bulk.toString(), "application/x-ndjson");
            assertOk(r);
            assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
        }
        assertOk(first.call("POST", "/notes/_refresh", null));
        assertOk(first.call("GET", "/_cluster/health/notes?wait_for_status=green&timeout=60s", null));

        String knn =
                "{\"size\": 10, \"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"lava flows from a crater\", \"k\": 10}}}}";
        String fusion = "{\"size\": 10, \"query\": {\"fusion\": {\"queries\": [{\"match\": {\"body\": \"bread\"}},"
                + " {\"embed_knn\": {\"vec\": {\"query_text\": \"baking at home\", \"k\": 10}}}]}}}";
        for (String query : List.of(knn, fusion)) {
            List<String> reference = null;
            for (RealNode node : nodes) {
                // preference pins the shard copies, so that every coordinating node reads the same ones
                RealNode.Response r = node.call("POST", "/notes/_search?preference=_primary_first", query);
                assertOk(r);
                JsonObject hits = r.body().getAsJsonObject().getAsJsonObject("hits");
                List<String> ranked = new ArrayList<>();
                for (JsonElement h : hits.getAsJsonArray("hits")) {
                    ranked.add(h.getAsJsonObject().get("_id").getAsString() + "@"
                            + h.getAsJsonObject().get("_score").getAsFloat());
                }
                assertEquals(10, ranked.size());
                if (reference == null) {
                    reference = ranked;
                } else {
                    assertEquals("node " + node.httpPort() + " answers differently", reference, ranked);
                }
            }
        }
        RealNode.Response top = first.call("POST", "/notes/_search", knn);
        String firstHit = top.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .get(0)
                .getAsJsonObject()
                .get("_id")
                .getAsString();
        assertEquals(0, Integer.parseInt(firstHit) % TOPICS.length);

        RealNode.Response count = first.call("GET", "/notes/_count", null);
        assertEquals(docs, count.body().getAsJsonObject().get("count").getAsInt());

        // every node encoded its third of the documents, and the stats call reaches all three
        RealNode.Response stats = nodes.get(2).call("GET", "/_plugins/_embeddings/stats", null);
        assertOk(stats);
        JsonObject perNode = stats.body().getAsJsonObject().getAsJsonObject("nodes");
        assertEquals(
                3,
                stats.body()
                        .getAsJsonObject()
                        .getAsJsonObject("_nodes")
                        .get("successful")
                        .getAsInt());
        long texts = 0;
        for (Map.Entry<String, JsonElement> node : perNode.entrySet()) {
            JsonObject models = node.getValue().getAsJsonObject().getAsJsonObject("models");
            assertTrue(node.getKey() + " encoded nothing: " + node.getValue(), models.has("bge-small-en-v1.5"));
            texts += models.getAsJsonObject("bge-small-en-v1.5").get("texts").getAsLong();
        }
        assertTrue("texts " + texts, texts >= docs);
    }

    private static final String CUSTOM_CARD = """
        {"dims": 384, "pooling": "mean", "normalize": true, "max_tokens": 512, "prompts": {"query": "query: ", "passage": "passage: "}}""";

    /** A node that is not the elected cluster manager, by index in {@link #nodes}: the last such node. */
    private static int aNodeThatIsNotTheManager() throws Exception {
        String manager = nodes.get(0)
                .call("GET", "/_cat/cluster_manager?format=json", null)
                .body()
                .getAsJsonArray()
                .get(0)
                .getAsJsonObject()
                .get("node")
                .getAsString();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            if (manager.equals("node-" + nodes.get(i).httpPort()) == false) {
                return i;
            }
        }
        throw new AssertionError("no node besides the manager " + manager);
    }

    private void aCustomModelOnSomeNodesAndABrokenOne() throws Exception {
        Path models = Path.of(System.getProperty("embeddings.test.models"));
        int lacking = aNodeThatIsNotTheManager();
        for (int i = 0; i < nodes.size(); i++) {
            if (i != lacking) {
                nodes.get(i).installCustomModel(models, "e5-small-v2", "custom-e5", CUSTOM_CARD, 0);
            }
        }
        RealNode without = nodes.get(lacking);
        RealNode with = nodes.get((lacking + 1) % nodes.size());
        // the mapping records the model's dims, so the node without the model's files applies it and holds shards
        assertOk(with.call("PUT", "/custom", """
            {"settings": {"number_of_shards": 3, "number_of_replicas": 1},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "custom-e5"}}}}"""));
        assertOk(with.call("GET", "/_cluster/health/custom?wait_for_status=green&timeout=60s", null));
        JsonObject mapping = with.call("GET", "/custom/_mapping", null).body().getAsJsonObject();
        assertEquals(
                mapping.toString(),
                384,
                mapping.getAsJsonObject("custom")
                        .getAsJsonObject("mappings")
                        .getAsJsonObject("properties")
                        .getAsJsonObject("vec")
                        .get("dims")
                        .getAsInt());
        RealNode.Response shardsOfTheLackingNode = with.call("GET", "/_cat/shards/custom?format=json", null);
        assertTrue(shardsOfTheLackingNode.text(), shardsOfTheLackingNode.text().contains("node-" + without.httpPort()));

        assertOk(with.call("PUT", "/_ingest/pipeline/custom", """
            {"processors": [{"embed": {"model": "custom-e5", "field_map": {"body": "vec"}}}]}"""));
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            bulk.append("{\"index\": {\"_id\": \"")
                    .append(i)
                    .append("\"}}\n")
                    .append(doc(i))
                    .append('\n');
        }
        RealNode.Response ingested = with.call(
                "POST", "/custom/_bulk?pipeline=custom&refresh=true", bulk.toString(), "application/x-ndjson");
        assertFalse(
                ingested.text(), ingested.body().getAsJsonObject().get("errors").getAsBoolean());

        // a node without the model: its documents fail alone with a 4xx that names the model, its searches too
        RealNode.Response refused = without.call(
                "POST",
                "/custom/_bulk?pipeline=custom",
                "{\"index\": {\"_id\": \"x\"}}\n" + doc(99) + "\n",
                "application/x-ndjson");
        JsonObject item = refused.body()
                .getAsJsonObject()
                .getAsJsonArray("items")
                .get(0)
                .getAsJsonObject()
                .getAsJsonObject("index");
        assertTrue(
                item.toString(),
                item.get("status").getAsInt() >= 400 && item.get("status").getAsInt() < 500);
        assertTrue(item.toString(), item.toString().contains("custom-e5"));
        String knn =
                "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"lava flows from a crater\", \"k\": 30}}}}";
        RealNode.Response noModel = without.call("POST", "/custom/_search", knn);
        assertEquals(noModel.text(), 400, noModel.status());
        assertTrue(
                noModel.text(),
                noModel.text()
                        .contains("is bound to model [custom-e5], which is not installed on the node coordinating"));
        // through a node that has it, every shard answers, those on the node without the model included
        RealNode.Response found = with.call("POST", "/custom/_search?size=30", knn);
        assertOk(found);
        assertEquals(
                30,
                found.body()
                        .getAsJsonObject()
                        .getAsJsonObject("hits")
                        .getAsJsonArray("hits")
                        .size());
        assertEquals(
                3,
                found.body()
                        .getAsJsonObject()
                        .getAsJsonObject("_shards")
                        .get("successful")
                        .getAsInt());

        // a broken model folder: a truncated ONNX file, and a malformed card; 4xx naming the file, listed as broken
        with.installCustomModel(models, "e5-small-v2", "broken-e5", CUSTOM_CARD, 1 << 20);
        with.installCustomModel(models, "e5-small-v2", "bad-card", "{\"dims\": 384, \"pooling\": ", 0);
        RealNode.Response truncated = with.call(
                "POST",
                "/_plugins/_embeddings/embed",
                "{\"model\": \"broken-e5\", \"role\": \"query\", \"texts\": [\"x\"]}");
        assertEquals(truncated.text(), 400, truncated.status());
        // the model and its file by name; where the folder lies on disk is for the node's log only
        assertTrue(
                truncated.text(), truncated.text().contains("model [broken-e5]: ONNX Runtime cannot load model.onnx"));
        ClientErrors.assertNoPath(with, truncated);
        RealNode.Response badCard = with.call(
                "POST",
                "/_plugins/_embeddings/embed",
                "{\"model\": \"bad-card\", \"role\": \"query\", \"texts\": [\"x\"]}");
        assertEquals(badCard.text(), 400, badCard.status());
        assertTrue(badCard.text(), badCard.text().contains("model [bad-card] has a malformed card.json"));
        ClientErrors.assertNoPath(with, badCard);
        RealNode.Response listing = with.call("GET", "/_plugins/_embeddings/models", null);
        assertOk(listing);
        JsonObject listed = listing.body().getAsJsonObject().getAsJsonObject("models");
        for (String broken : List.of("broken-e5", "bad-card")) {
            JsonObject model = listed.getAsJsonObject(broken);
            assertTrue(model.toString(), model.get("broken").getAsBoolean());
            assertTrue(model.toString(), model.get("error").getAsString().contains("[" + broken + "]"));
        }
        // the node folder as resolved too (a node under a linked folder writes the resolved one), and any other path
        ClientErrors.assertNoPath(with, listing);
        assertEquals("failed", listed.getAsJsonObject("broken-e5").get("state").getAsString());
        assertFalse(listed.getAsJsonObject("custom-e5").get("broken").getAsBoolean());
    }

    private void everyVectorFormatSurvivesShardRelocation() throws Exception {
        RealNode first = nodes.get(0);
        VectorOptionsWorkload workload = new VectorOptionsWorkload();
        workload.createIndex(first, "formats", 1, 0);
        workload.ingest(first, "formats");
        assertOk(first.call("POST", "/formats/_flush", null));
        Map<String, List<List<String>>> before = workload.results(first, "formats");
        String from = shardNode(first, "formats");
        assertFalse("the shard is not started", from.isEmpty());
        // move the shard off its node: the target copies the segment files and opens them in another JVM
        assertOk(first.call(
                "PUT", "/formats/_settings", "{\"index.routing.allocation.exclude._name\": \"" + from + "\"}"));
        String to = from;
        for (int i = 0; i < 240 && (to.equals(from) || to.isEmpty()); i++) {
            Thread.sleep(500);
            to = shardNode(first, "formats");
        }
        assertFalse("the shard stayed on " + from, from.equals(to));
        assertOk(first.call(
                "GET",
                "/_cluster/health/formats?wait_for_status=green&wait_for_no_relocating_shards=true&timeout=120s",
                null));
        for (RealNode node : nodes) {
            VectorOptionsWorkload.assertSameResults(
                    "after the move from " + from + " to " + to + ", asked through " + node.httpPort(),
                    before,
                    workload.results(node, "formats"));
        }
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(nodes.get(2), "formats"), 2);
    }

    private static String shardNode(RealNode node, String index) throws Exception {
        RealNode.Response r = node.call("GET", "/_cat/shards/" + index + "?format=json&h=node,state", null);
        assertOk(r);
        JsonObject shard = r.body().getAsJsonArray().get(0).getAsJsonObject();
        // while relocating, the copy still serves from its old node
        return shard.get("state").getAsString().equals("STARTED")
                ? shard.get("node").getAsString()
                : "";
    }

    private void killingANodeDuringIngestLosesNoAcknowledgedDocument() throws Exception {
        RealNode first = nodes.get(0);
        assertOk(first.call("PUT", "/replicated", """
            {"settings": {"number_of_shards": 3, "number_of_replicas": 1},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
        assertOk(first.call("GET", "/_cluster/health/replicated?wait_for_status=green&timeout=60s", null));
        assertOk(first.call("PUT", "/_ingest/pipeline/replicated", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        BulkLoad load = new BulkLoad(first, "replicated", "replicated", 8);
        load.awaitAcked(40, 120_000);
        nodes.get(2).kill();
        int ackedAtKill = load.acked().size();
        load.awaitAcked(ackedAtKill + 40, 120_000);
        load.close();
        assertTrue(
                "ingest went on after the kill: " + ackedAtKill + " -> "
                        + load.acked().size(),
                load.acked().size() >= ackedAtKill + 40);
        assertTrue(load.serverErrors().toString(), load.serverErrors().isEmpty());
        assertTrue(
                "a bulk went unanswered: " + load.unanswered(),
                load.unanswered().isEmpty());

        RealNode.Response health = first.call(
                "GET", "/_cluster/health/replicated?wait_for_nodes=2&wait_for_status=yellow&timeout=60s", null);
        assertOk(health);
        assertOk(first.call("POST", "/replicated/_refresh", null));
        RealNode.Response all = first.call(
                "POST",
                "/replicated/_search",
                "{\"size\": 10000, \"_source\": false, \"query\": {\"exists\": {\"field\": \"vec\"}}}");
        assertOk(all);
        Set<String> found = new HashSet<>();
        all.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> found.add(h.getAsJsonObject().get("_id").getAsString()));
        for (String id : load.acked()) {
            assertTrue("acknowledged document " + id + " is lost", found.contains(id));
        }
        System.out.printf(
                Locale.ROOT,
                "cluster fault: %d acknowledged (%d before the kill), %d reported failed, all acknowledged found%n",
                load.acked().size(),
                ackedAtKill,
                load.failed().size());
    }
}

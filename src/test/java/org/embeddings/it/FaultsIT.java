package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.embeddings.testkit.BulkLoad;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.VectorLayout;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A node killed with {@code kill -9} in the middle of bulk ingest through the {@code embed} pipeline, then started
 * again on the same data: every acknowledged document is there with its vector, the model loads again, and both
 * queries and ingest work. The same restart reopens an index with a field per {@code index_options} choice
 * ({@link VectorOptionsWorkload}): a fresh JVM reads every vector format back through the names its segments
 * recorded and answers the same hits, and so it does after a force-merge into one segment.
 */
public class FaultsIT {
    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("faults", RealNode.port(40));
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

    @Test
    public void killDuringBulkIngestLosesNoAcknowledgedDocument() throws Exception {
        assertOk(node.call("PUT", "/durable", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
        assertOk(node.call("PUT", "/_ingest/pipeline/durable", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        VectorOptionsWorkload formats = new VectorOptionsWorkload();
        formats.createIndex(node, "formats", 1, 0);
        formats.ingest(node, "formats");
        assertOk(node.call("POST", "/formats/_flush", null));
        Map<String, List<List<String>>> before = formats.results(node, "formats");
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 2);
        JsonObject mapping = node.call("GET", "/formats/_mapping", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("formats")
                .getAsJsonObject("mappings")
                .getAsJsonObject("properties");
        assertEquals(
                "binary",
                mapping.getAsJsonObject(VectorLayout.HNSW_BINARY.label())
                        .getAsJsonObject("index_options")
                        .get("quantization")
                        .getAsString());

        BulkLoad load = new BulkLoad(node, "durable", "durable", 8);
        load.awaitAcked(40, 120_000);
        node.kill();
        load.close();
        assertTrue("acked before the kill: " + load.acked().size(), load.acked().size() >= 40);
        assertTrue(load.serverErrors().toString(), load.serverErrors().isEmpty());

        awaitPortFree(node.httpPort());
        node.restart();
        assertOk(node.call("GET", "/_cluster/health/durable,formats?wait_for_status=green&timeout=60s", null));
        assertOk(node.call("POST", "/durable/_refresh", null));

        // every acknowledged document survived, each with its vector; a document of a bulk cut off by the kill may
        // or may not have been written, but never half: it has its vector or it is absent
        RealNode.Response all = node.call("POST", "/durable/_search", """
            {"size": 10000, "_source": false, "query": {"exists": {"field": "vec"}}}""");
        assertOk(all);
        Set<String> withVector = new HashSet<>();
        all.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> withVector.add(h.getAsJsonObject().get("_id").getAsString()));
        RealNode.Response count = node.call("GET", "/durable/_count", null);
        assertEquals(
                "documents without a vector",
                withVector.size(),
                count.body().getAsJsonObject().get("count").getAsInt());
        for (String id : load.acked()) {
            assertTrue("acknowledged document " + id + " is lost", withVector.contains(id));
        }

        // the model loads again on first use and serves both paths
        JsonArray hits = node.call("POST", "/durable/_search", """
            {"query": {"embed_knn": {"vec": {"query_text": "document on topic 3", "k": 5}}}}""")
                .body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits");
        assertEquals(5, hits.size());
        assertOk(node.call(
                "PUT",
                "/durable/_doc/after?pipeline=durable&refresh=true",
                "{\"body\": \"written after the restart\"}"));

        VectorOptionsWorkload.assertSameResults("after a restart", before, formats.results(node, "formats"));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 2);
        assertOk(node.call("POST", "/formats/_forcemerge?max_num_segments=1", null));
        assertOk(node.call("POST", "/formats/_refresh", null));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 1);
        VectorOptionsWorkload.assertSameResults("after a force-merge", before, formats.results(node, "formats"));
    }

    /** kill -9 returns before the process is gone; the restart needs its port back. */
    private static void awaitPortFree(int port) throws InterruptedException {
        for (int i = 0; i < 120; i++) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                Thread.sleep(250);
            } catch (IOException refused) {
                return;
            }
        }
        throw new AssertionError("port " + port + " still in use 30 s after kill -9");
    }
}

package org.embeddings.it;

import com.google.gson.JsonObject;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.util.List;
import java.util.Map;

import static org.embeddings.it.VectorOptionsWorkload.check;
import static org.junit.Assert.assertEquals;

/**
 * Every {@code index_options} choice on a real node from the distribution: mapped, indexed, searched; its Lucene
 * files shown by the vector stats endpoint; then the same hits after a {@code kill -9} and restart (segments read
 * back by a fresh JVM through the codec names they recorded) and after a force-merge into one segment (graphs
 * rebuilt by a merge).
 */
public class VectorFormatsIT {
    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("vector-formats", RealNode.port(70));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    /** kill -9 returns before the process is gone; the restart needs its port back. */
    private static void awaitPortFree(int port) throws InterruptedException {
        for (int i = 0; i < 120; i++) {
            try (java.net.Socket ignored = new java.net.Socket("127.0.0.1", port)) {
                Thread.sleep(250);
            } catch (java.io.IOException refused) {
                return;
            }
        }
        throw new AssertionError("port " + port + " still in use 30 s after kill -9");
    }

    @Test
    public void everyOptionSurvivesRestartAndForceMerge() throws Exception {
        VectorOptionsWorkload workload = new VectorOptionsWorkload();
        workload.createIndex(node, "formats", 1, 0);
        workload.ingest(node, "formats");
        Map<String, List<List<String>>> before = workload.results(node, "formats");
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 2);

        JsonObject mapping = node.call("GET", "/formats/_mapping", null).body().getAsJsonObject()
            .getAsJsonObject("formats").getAsJsonObject("mappings").getAsJsonObject("properties");
        assertEquals("binary", mapping.getAsJsonObject("hnsw_binary").getAsJsonObject("index_options").get("quantization").getAsString());
        assertEquals("flat", mapping.getAsJsonObject("flat_int8").getAsJsonObject("index_options").get("type").getAsString());

        check(node.call("POST", "/formats/_flush", null));
        node.kill();
        awaitPortFree(node.httpPort());
        node.restart();
        check(node.call("GET", "/_cluster/health/formats?wait_for_status=green&timeout=60s", null));
        VectorOptionsWorkload.assertSameResults("after a restart", before, workload.results(node, "formats"));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 2);

        check(node.call("POST", "/formats/_forcemerge?max_num_segments=1", null));
        check(node.call("POST", "/formats/_refresh", null));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 1);
        VectorOptionsWorkload.assertSameResults("after a force-merge", before, workload.results(node, "formats"));
    }
}

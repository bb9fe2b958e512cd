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
        node.restart();
        check(node.call("GET", "/_cluster/health/formats?wait_for_status=green&timeout=60s", null));
        assertEquals("after a restart", before, workload.results(node, "formats"));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 2);

        check(node.call("POST", "/formats/_forcemerge?max_num_segments=1", null));
        check(node.call("POST", "/formats/_refresh", null));
        VectorOptionsWorkload.checkFormats(VectorOptionsWorkload.vectorStats(node, "formats"), 1);
        assertEquals("after a force-merge", before, workload.results(node, "formats"));
    }
}

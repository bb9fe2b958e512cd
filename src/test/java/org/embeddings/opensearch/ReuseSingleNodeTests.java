package org.embeddings.opensearch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.embeddings.opensearch.action.IngestReuse;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.env.Environment;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * Inference paid once, in an in-JVM node with the real bge-small-en-v1.5: re-sent documents reuse their stored
 * vectors (bit for bit), identical texts in one bulk are encoded once, changed texts alone are encoded, a pipeline
 * with {@code reuse: false} encodes everything again; a changed paragraph of a long document re-encodes only its own
 * windows. Counted by the stats action's {@code ingest} figures, which each assertion reads before and after.
 */
public class ReuseSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String MODEL = "bge-small-en-v1.5";

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    private IngestReuse stats() {
        return client().execute(EmbeddingsStatsAction.INSTANCE, new EmbeddingsStatsAction.Request())
                .actionGet()
                .getNodes()
                .get(0)
                .stats()
                .ingest()
                .getOrDefault(MODEL, new IngestReuse(0, 0, 0, 0, 0, 0));
    }

    private static IngestReuse minus(IngestReuse a, IngestReuse b) {
        return new IngestReuse(
                a.encoded() - b.encoded(),
                a.reused() - b.reused(),
                a.deduplicated() - b.deduplicated(),
                a.skipped() - b.skipped(),
                a.lookups() - b.lookups(),
                0);
    }

    private void bulk(String index, String pipeline, Map<String, String> bodies) {
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        bodies.forEach((id, body) -> bulk.add(
                client().prepareIndex(index).setId(id).setPipeline(pipeline).setSource(Map.of("body", body))));
        BulkResponse response = bulk.get();
        assertFalse(response.buildFailureMessage(), response.hasFailures());
    }

    @SuppressWarnings("unchecked")
    private List<Object> vector(String index, String id) {
        return (List<Object>)
                client().prepareGet(index, id).get().getSourceAsMap().get("vec");
    }

    public void testResentDocumentsReuseTheirVectorsAndDuplicatesAreEncodedOnce() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), MODEL);
        client().admin()
                .indices()
                .prepareCreate("docs")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + MODEL)
                .get();
        putPipeline("p", "");
        putPipeline("fresh", ", \"reuse\": false");
        Map<String, String> bodies = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 8; i++) {
            bodies.put(Integer.toString(i), i < 6 ? "Glaciers carve valleys, number " + i : "The same text twice");
        }
        IngestReuse before = stats();
        bulk("docs", "p", bodies);
        IngestReuse first = minus(stats(), before);
        assertEquals("7 distinct texts", 7, first.encoded());
        assertEquals("the repeated text", 1, first.deduplicated());
        List<List<Object>> vectors = new ArrayList<>();
        for (String id : bodies.keySet()) {
            vectors.add(vector("docs", id));
        }

        before = stats();
        bulk("docs", "p", bodies);
        IngestReuse again = minus(stats(), before);
        assertEquals("nothing encoded again: " + again, 0, again.encoded());
        assertEquals(8, again.reused());
        assertEquals("one multi-get over the bulk's 8 documents", 8, again.lookups());
        int i = 0;
        for (String id : bodies.keySet()) {
            assertEquals("the same floats", vectors.get(i++), vector("docs", id));
        }

        bodies.put("2", "A changed text");
        before = stats();
        bulk("docs", "p", bodies);
        IngestReuse changed = minus(stats(), before);
        assertEquals(1, changed.encoded());
        assertEquals(7, changed.reused());

        before = stats();
        bulk("docs", "fresh", bodies);
        assertEquals(
                "reuse: false encodes every text", 8, minus(stats(), before).encoded());
    }

    public void testAChangedParagraphReencodesOnlyItsWindows() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), MODEL);
        client().admin()
                .indices()
                .prepareCreate("long")
                .setMapping("{\"properties\": {\"body\": {\"type\": \"text\"}, \"passages\": {\"type\": \"nested\","
                        + " \"properties\": {\"vec\": {\"type\": \"embedding\", \"model\": \"" + MODEL + "\"}}}}}")
                .get();
        client().admin()
                .cluster()
                .preparePutPipeline(
                        "chunks",
                        new BytesArray("{\"processors\": [{\"embed\": {\"model\": \"" + MODEL
                                + "\", \"field_map\": {\"body\": \"passages.vec\"}, \"chunking\": {}}}]}"),
                        XContentType.JSON)
                .get();
        List<String> paragraphs = new ArrayList<>();
        for (int p = 0; p < 10; p++) {
            paragraphs.add(paragraph(p, "original"));
        }
        IngestReuse before = stats();
        bulk("long", "chunks", Map.of("1", String.join("\n\n", paragraphs)));
        IngestReuse first = minus(stats(), before);
        assertEquals("one window per paragraph", 10, first.encoded());

        paragraphs.set(4, paragraph(4, "rewritten"));
        before = stats();
        bulk("long", "chunks", Map.of("1", String.join("\n\n", paragraphs)));
        IngestReuse changed = minus(stats(), before);
        assertTrue("at most 2 windows encoded: " + changed, changed.encoded() <= 2);
        assertEquals(10, changed.encoded() + changed.reused());
    }

    /** A paragraph of about 150 tokens, its words depending on its number and version. */
    private static String paragraph(int p, String version) {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < 8; s++) {
            b.append(String.format(
                    Locale.ROOT,
                    "Sentence %d of the %s paragraph %d describes how rivers, glaciers and winds shape valley %d. ",
                    s,
                    version,
                    p,
                    p * 10 + s));
        }
        return b.toString().strip();
    }

    private void putPipeline(String id, String options) {
        client().admin()
                .cluster()
                .preparePutPipeline(
                        id,
                        new BytesArray("{\"processors\": [{\"embed\": {\"model\": \"" + MODEL
                                + "\", \"field_map\": {\"body\": \"vec\"}" + options + "}}]}"),
                        XContentType.JSON)
                .get();
    }
}

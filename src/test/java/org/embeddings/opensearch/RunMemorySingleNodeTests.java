package org.embeddings.opensearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.embeddings.opensearch.action.EmbedAction;
import org.embeddings.opensearch.action.EmbedRequest;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.bulk.BulkItemResponse;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.get.GetResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.env.Environment;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * {@code embeddings.onnx.max_run_memory} in an in-JVM node with bge-small-en-v1.5, bounded at 20 MB (texts of up to
 * about 300 tokens): in a bulk through {@code embed}, a document whose text is too long fails alone with a 400 that
 * names the setting, and the documents beside it in the same bulk are indexed with their vectors; a query text too long
 * is a 400 and the next query runs; the embed API names the text it refuses.
 */
public class RunMemorySingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";
    /** About 600 tokens: truncated to the model's 512, over the bound. */
    private static final String LONG = "The river carries silt from the mountains down to the delta. ".repeat(50);

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    protected Settings nodeSettings() {
        return Settings.builder()
                .put(super.nodeSettings())
                .put(EmbeddingsPlugin.MAX_RUN_MEMORY.getKey(), "20mb")
                .build();
    }

    public void testATextTooLongFailsAloneAndEverythingElseRuns() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        client().admin()
                .indices()
                .prepareCreate("docs")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        client().admin()
                .cluster()
                .preparePutPipeline(
                        "embed",
                        new BytesArray("{\"processors\":[{\"embed\":{\"model\":\"" + BGE
                                + "\",\"field_map\":{\"body\":\"vec\"}}}]}"),
                        XContentType.JSON)
                .get();

        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        String[] bodies = {"rivers begin in the mountains", LONG, "a delta forms where a river meets the sea", LONG};
        for (int i = 0; i < bodies.length; i++) {
            bulk.add(client().prepareIndex("docs")
                    .setId("d" + i)
                    .setPipeline("embed")
                    .setSource(Map.of("body", bodies[i])));
        }
        BulkResponse response = bulk.get();
        for (int i = 0; i < bodies.length; i++) {
            BulkItemResponse item = response.getItems()[i];
            if (bodies[i] == LONG) {
                assertTrue("d" + i + " must fail", item.isFailed());
                assertEquals(RestStatus.BAD_REQUEST, item.status());
                assertTrue(
                        item.getFailureMessage(),
                        item.getFailureMessage()
                                .contains("the text for target field [vec]: text of 512 tokens is too long for model ["
                                        + BGE + "]"));
                assertTrue(
                        item.getFailureMessage(),
                        item.getFailureMessage().contains("[embeddings.onnx.max_run_memory] (20 MB)"));
                assertFalse(client().prepareGet("docs", "d" + i).get().isExists());
            } else {
                assertFalse(item.getFailureMessage(), item.isFailed());
                GetResponse doc = client().prepareGet("docs", "d" + i).get();
                assertTrue(doc.isExists());
                assertEquals(384, ((List<?>) doc.getSourceAsMap().get("vec")).size());
            }
        }

        // a query text too long is a 400; the next query runs and finds the short documents
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareSearch("docs")
                        .setQuery(QueryBuilders.wrapperQuery(
                                "{\"embed_knn\":{\"vec\":{\"query_text\":\"" + LONG + "\",\"k\":2}}}"))
                        .get());
        assertEquals(RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(e.toString(), ExceptionsHelper.unwrapCause(e).getMessage().contains("is too long for model"));
        SearchResponse hits = client().prepareSearch("docs")
                .setQuery(QueryBuilders.wrapperQuery(
                        "{\"embed_knn\":{\"vec\":{\"query_text\":\"where do rivers begin\",\"k\":2}}}"))
                .get();
        assertEquals(2, hits.getHits().getHits().length);
        assertEquals("d0", hits.getHits().getHits()[0].getId());

        // passage windows too long to run are refused when the pipeline is created; windows that fit are accepted
        Exception pipeline = expectThrows(
                Exception.class,
                () -> client().admin()
                        .cluster()
                        .preparePutPipeline(
                                "chunked",
                                new BytesArray(
                                        "{\"processors\":[{\"embed\":{\"model\":\"" + BGE
                                                + "\",\"field_map\":{\"body\":\"passages.vec\"},\"chunking\":{\"max_tokens\":400}}}]}"),
                                XContentType.JSON)
                        .get());
        assertEquals(RestStatus.BAD_REQUEST, ExceptionsHelper.status(pipeline));
        assertTrue(
                pipeline.toString(),
                ExceptionsHelper.unwrapCause(pipeline)
                        .getMessage()
                        .contains("passage windows of up to 400 tokens are too long for model [" + BGE + "]"));
        client().admin()
                .cluster()
                .preparePutPipeline(
                        "chunked",
                        new BytesArray("{\"processors\":[{\"embed\":{\"model\":\"" + BGE
                                + "\",\"field_map\":{\"body\":\"passages.vec\"},\"chunking\":{\"max_tokens\":200}}}]}"),
                        XContentType.JSON)
                .get();

        // the embed API names the text it refuses
        Exception api = expectThrows(
                Exception.class,
                () -> client().execute(EmbedAction.INSTANCE, new EmbedRequest(BGE, "passage", List.of("short", LONG)))
                        .actionGet());
        assertEquals(RestStatus.BAD_REQUEST, ExceptionsHelper.status(api));
        assertTrue(
                api.toString(),
                ExceptionsHelper.unwrapCause(api)
                        .getMessage()
                        .startsWith("text [1] of 512 tokens is too long for model [" + BGE + "]"));
    }
}

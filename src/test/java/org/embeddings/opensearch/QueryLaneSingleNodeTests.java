package org.embeddings.opensearch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.Role;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.PlainActionFuture;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.env.Environment;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * The query lane on an in-JVM node with bge-small-en-v1.5: a query that arrives while a long document batch is being
 * encoded gets its vector between two of the batch's sub-batches, not after the batch; and a query whose deadline
 * (its search's timeout) passes while it waits fails with 429 (the lane is overloaded: back off) instead of waiting
 * on.
 */
public class QueryLaneSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    public void setUp() throws Exception {
        super.setUp();
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        client().admin()
                .indices()
                .prepareCreate("lane")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        client().prepareIndex("lane")
                .setId("1")
                .setSource("{\"body\": \"x\", \"vec\": " + unitVector() + "}", XContentType.JSON)
                .setRefreshPolicy("true")
                .get();
    }

    private static String unitVector() {
        StringBuilder v = new StringBuilder("[1");
        for (int i = 1; i < 384; i++) {
            v.append(",0");
        }
        return v.append(']').toString();
    }

    /** Enough long passages to keep the document lane busy for seconds: many sub-batches of the token budget. */
    private static List<String> longPassages(int n) {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            texts.add(("Passage " + i + " tells of rivers, mountains and the weather of a distant valley in spring. ")
                    .repeat(12));
        }
        return texts;
    }

    private PlainActionFuture<float[][]> startLongDocumentBatch(InferenceService inference) throws Exception {
        PlainActionFuture<float[][]> documents = new PlainActionFuture<>();
        inference.embed(BGE, Role.PASSAGE, longPassages(40), documents);
        // wait until the batch is really running (its model loaded and its first sub-batches under way)
        assertBusy(
                () -> assertTrue(inference
                        .registry()
                        .loadedEncoder(BGE)
                        .map(e -> e.stats().snapshot().batches() >= 2)
                        .orElse(false)),
                60,
                TimeUnit.SECONDS);
        return documents;
    }

    public void testAQueryDuringALongDocumentBatchIsAnsweredBeforeTheBatchEnds() throws Exception {
        InferenceService inference = getInstanceFromNode(InferenceService.class);
        PlainActionFuture<float[][]> documents = startLongDocumentBatch(inference);
        SearchResponse response = client().prepareSearch("lane")
                .setQuery(QueryBuilders.wrapperQuery("{\"embed_knn\": {\"vec\": {\"query_text\": \"valleys in spring "
                        + randomAlphaOfLength(6) + "\"}}}"))
                .get(TimeValue.timeValueSeconds(60));
        long batchesWhenAnswered = batches(inference);
        assertEquals(1, response.getHits().getHits().length);
        assertEquals(40, documents.actionGet(TimeValue.timeValueMinutes(5)).length);
        // Counted in sub-batches, not time: the query's own batch ran between the document batch's sub-batches, and
        // several of those were still to come when the query had its answer.
        long batchesAtTheEnd = batches(inference);
        assertTrue(
                "the query was answered after " + batchesWhenAnswered + " of " + batchesAtTheEnd + " sub-batches",
                batchesAtTheEnd - batchesWhenAnswered >= 3);
    }

    private static long batches(InferenceService inference) {
        return inference
                .registry()
                .loadedEncoder(BGE)
                .orElseThrow()
                .stats()
                .snapshot()
                .batches();
    }

    public void testAQueryPastItsDeadlineFailsWith429() throws Exception {
        InferenceService inference = getInstanceFromNode(InferenceService.class);
        PlainActionFuture<float[][]> documents = startLongDocumentBatch(inference);
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareSearch("lane")
                        .setTimeout(TimeValue.timeValueMillis(1))
                        .setQuery(QueryBuilders.wrapperQuery("{\"embed_knn\": {\"vec\": {\"query_text\": \"in a hurry "
                                + randomAlphaOfLength(6) + "\"}}}"))
                        .get(TimeValue.timeValueSeconds(60)));
        assertEquals(ExceptionsHelper.stackTrace(e), RestStatus.TOO_MANY_REQUESTS, ExceptionsHelper.status(e));
        assertTrue(
                ExceptionsHelper.stackTrace(e),
                ExceptionsHelper.stackTrace(e).contains("did not finish within its deadline [1ms]"));
        assertTrue(inference.stats().queryTimeouts() >= 1);
        assertEquals(40, documents.actionGet(TimeValue.timeValueMinutes(5)).length);
    }
}

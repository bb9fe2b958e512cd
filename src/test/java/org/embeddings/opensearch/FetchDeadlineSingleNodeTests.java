package org.embeddings.opensearch;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.embeddings.opensearch.action.EmbedAction;
import org.embeddings.opensearch.action.EmbedRequest;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.fetch.subphase.highlight.HighlightBuilder;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * The {@code embedding} highlighter's {@code encode_sentences} under a search with no {@code timeout}: the fetch phase
 * as a whole waits for sentence vectors for {@code embeddings.query.timeout} at most (200 ms here), so a search of
 * 300 hits, whose sentences take seconds to encode, answers with fragments for the hits encoded within that budget
 * and none for the rest, instead of holding its search thread for a timeout per hit.
 */
public class FetchDeadlineSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";
    private static final int HITS = 300;

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    protected Settings nodeSettings() {
        return Settings.builder()
                .put(super.nodeSettings())
                .put(EmbeddingsPlugin.QUERY_TIMEOUT.getKey(), "200ms")
                .build();
    }

    public void testSentenceEncodingStopsAtTheFetchPhasesBudget() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        client().admin()
                .indices()
                .prepareCreate("docs")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        Random random = new Random(5);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < HITS; i++) {
            float[] vector = new float[384];
            for (int d = 0; d < vector.length; d++) {
                vector[d] = (float) random.nextGaussian();
            }
            bulk.add(client().prepareIndex("docs")
                    .setId("d" + i)
                    .setSource(Map.of(
                            "body",
                            "Rivers begin in the mountains number " + i + ". They carry silt down to the sea. "
                                    + "A delta forms where the river slows and drops what it carries.",
                            "vec",
                            vector)));
        }
        assertFalse(bulk.get().buildFailureMessage(), bulk.get().hasFailures());
        // the model is loaded before the search, so that the budget goes to encoding
        client().execute(EmbedAction.INSTANCE, new EmbedRequest(BGE, "passage", List.of("warm up")))
                .actionGet();

        float[] query = new float[384];
        query[0] = 1;
        SearchResponse response = client().prepareSearch("docs")
                .setSource(new SearchSourceBuilder()
                        .size(HITS)
                        .fetchSource(false)
                        .query(QueryBuilders.wrapperQuery(
                                "{\"embed_knn\": {\"vec\": {\"query_vector\": " + Arrays.toString(query) + ", \"k\": "
                                        + HITS + ", \"num_candidates\": " + HITS + "}}}"))
                        .highlighter(new HighlightBuilder()
                                .field(new HighlightBuilder.Field("body")
                                        .highlighterType("embedding")
                                        .numOfFragments(1)
                                        .options(Map.of("encode_sentences", true)))))
                .get();
        assertEquals(HITS, response.getHits().getHits().length);
        int highlighted = 0;
        for (SearchHit hit : response.getHits().getHits()) {
            if (hit.getHighlightFields().containsKey("body")) {
                highlighted++;
            }
        }
        // 300 hits of three sentences take seconds to encode; 200 ms for the phase reaches some of them, never all
        assertTrue("hits with fragments: " + highlighted, highlighted > 0);
        assertTrue("hits with fragments: " + highlighted, highlighted < HITS);
    }
}

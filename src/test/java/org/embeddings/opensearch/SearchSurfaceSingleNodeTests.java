package org.embeddings.opensearch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.embeddings.opensearch.action.NodeEmbeddingsStats;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.search.SearchType;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.action.ActionFuture;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.env.Environment;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.SearchHit;
import org.opensearch.search.aggregations.AggregationBuilders;
import org.opensearch.search.aggregations.bucket.terms.Terms;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * The search surface in an in-JVM node with bge-small-en-v1.5 installed (and its quantized variant, as a second
 * model of the same dims): model-bound fields queried without {@code model}, other models refused for them at query
 * and ingest time, {@code fusion} inside {@code bool} with pagination, aggregations and totals, the {@code neural}
 * alias, {@code min_score}, and the query-vector cache seen through the stats action.
 */
public class SearchSurfaceSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";
    private static final String BGE_Q = "bge-small-en-v1.5-q";
    private static final String[][] DOCS = {
        {
            "photo",
            "science",
            "Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen."
        },
        {"market", "news", "Stock markets fell sharply on Tuesday as investors worried about rising interest rates."},
        {
            "cookies",
            "food",
            "Cream the butter and sugar, fold in chocolate chips and bake the cookies for twelve minutes."
        },
        {"volcano", "science", "A volcano erupts when magma from beneath the crust rises and escapes through vents."},
        {"football", "news", "The home team won the championship final with a goal in the last minute of extra time."},
        {"heart", "science", "The heart pumps blood through arteries and veins, carrying oxygen to every organ."},
        {"bread", "food", "Knead the dough, let it rise overnight and bake the bread in a very hot oven."},
        {"plants", "science", "Green plants need light to grow; leaves capture sunlight with chlorophyll."}
    };

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    protected Settings nodeSettings() {
        return Settings.builder()
                .put(super.nodeSettings())
                .put(EmbeddingsPlugin.NEURAL_QUERY.getKey(), true)
                .build();
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    @Override
    public void setUp() throws Exception {
        super.setUp();
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        TestModels.install(getInstanceFromNode(Environment.class), BGE_Q);
        if (client().admin().indices().prepareExists("bound").get().isExists()) {
            return;
        }
        client().admin()
                .indices()
                .prepareCreate("bound")
                .setMapping("kind", "type=keyword", "body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        client().admin()
                .indices()
                .prepareCreate("bound3")
                .setSettings(Settings.builder().put("index.number_of_shards", 3))
                .setMapping("kind", "type=keyword", "body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        client().admin()
                .indices()
                .prepareCreate("unbound")
                .setMapping("body", "type=text", "vec", "type=embedding,dims=384")
                .get();
        putPipeline("bge", BGE);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (String[] doc : DOCS) {
            String source = "{\"kind\": \"" + doc[1] + "\", \"body\": \"" + doc[2] + "\"}";
            bulk.add(client().prepareIndex("bound")
                    .setId(doc[0])
                    .setPipeline("bge")
                    .setSource(source, XContentType.JSON));
            bulk.add(client().prepareIndex("unbound")
                    .setId(doc[0])
                    .setPipeline("bge")
                    .setSource(source, XContentType.JSON));
            bulk.add(client().prepareIndex("bound3")
                    .setId(doc[0])
                    .setPipeline("bge")
                    .setSource(source, XContentType.JSON));
        }
        BulkResponse response = bulk.get();
        assertFalse(response.buildFailureMessage(), response.hasFailures());
    }

    private void putPipeline(String id, String model) {
        String body = "{\"processors\":[{\"embed\":{\"model\":\"" + model + "\",\"field_map\":{\"body\":\"vec\"}}}]}";
        client().admin()
                .cluster()
                .preparePutPipeline(id, new BytesArray(body), XContentType.JSON)
                .get();
    }

    private SearchResponse search(String index, String query) {
        return client().prepareSearch(index)
                .setQuery(QueryBuilders.wrapperQuery(query))
                .setSize(20)
                .get();
    }

    private static List<String> ids(SearchResponse response) {
        List<String> ids = new ArrayList<>();
        for (SearchHit hit : response.getHits().getHits()) {
            ids.add(hit.getId());
        }
        return ids;
    }

    private void assertBadRequest(Runnable call, String expectedMessage) {
        Exception e = expectThrows(Exception.class, call::run);
        assertEquals(ExceptionsHelper.stackTrace(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(
                ExceptionsHelper.stackTrace(e), ExceptionsHelper.stackTrace(e).contains(expectedMessage));
    }

    public void testModelBoundFieldNeedsNoModelAndRefusesAnother() {
        SearchResponse bound = search(
                "bound",
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"how do plants make sugar from light\", \"k\": 3}}}");
        assertEquals(
                List.of("photo", "plants"),
                ids(bound).subList(0, 2).stream().sorted().toList());

        assertBadRequest(
                () -> search(
                        "bound",
                        "{\"embed_knn\": {\"vec\": {\"query_text\": \"plants\", \"model\": \"" + BGE_Q + "\"}}}"),
                "is bound to model [" + BGE + "], not [" + BGE_Q + "]");
        assertBadRequest(
                () -> search("unbound", "{\"embed_knn\": {\"vec\": {\"query_text\": \"plants\"}}}"), "give [model]");
        SearchResponse named = search(
                "unbound",
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"how do plants make sugar from light\", \"model\": \""
                        + BGE + "\", \"k\": 3}}}");
        assertEquals(ids(bound), ids(named));
    }

    public void testPipelineWithAnotherModelCannotWriteABoundField() {
        putPipeline("quantized", BGE_Q);
        BulkResponse response = client().prepareBulk()
                .add(client().prepareIndex("bound")
                        .setId("x")
                        .setPipeline("quantized")
                        .setSource("{\"body\": \"volcanic ash\"}", XContentType.JSON))
                .add(client().prepareIndex("unbound")
                        .setId("x")
                        .setPipeline("quantized")
                        .setSource("{\"body\": \"volcanic ash\"}", XContentType.JSON))
                .get();
        assertTrue(response.getItems()[0].isFailed());
        assertEquals(RestStatus.BAD_REQUEST, response.getItems()[0].status());
        assertTrue(
                response.getItems()[0].getFailureMessage(),
                response.getItems()[0].getFailureMessage().contains("is bound to model [" + BGE + "]"));
        assertFalse(response.getItems()[1].getFailureMessage(), response.getItems()[1].isFailed());
        assertFalse(client().prepareGet("bound", "x").get().isExists());
        client().prepareDelete("unbound", "x")
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
    }

    private static String fusion(String text) {
        return "{\"fusion\": {\"queries\": [{\"match\": {\"body\": \"" + text
                + "\"}}, {\"embed_knn\": {\"vec\": {\"query_text\": \"" + text
                + "\", \"k\": 5}}}], \"window_size\": 5}}";
    }

    public void testFusionComposesWithBoolPaginationAggregationsAndTotals() {
        String text = "bake bread in the oven";
        SearchResponse all = search("bound", fusion(text));
        List<String> fused = ids(all);
        SearchResponse bm25 = search("bound", "{\"match\": {\"body\": \"" + text + "\"}}");
        SearchResponse knn =
                search("bound", "{\"embed_knn\": {\"vec\": {\"query_text\": \"" + text + "\", \"k\": 5}}}");
        Set<String> union = new HashSet<>(ids(knn));
        union.addAll(ids(bm25).subList(0, Math.min(5, ids(bm25).size())));
        assertEquals(union, new HashSet<>(fused));
        assertEquals(union.size(), all.getHits().getTotalHits().value());
        assertEquals("bread", fused.get(0));

        // pagination walks the same ranking
        List<String> paged = new ArrayList<>();
        for (int from = 0; from < fused.size(); from += 2) {
            paged.addAll(ids(client().prepareSearch("bound")
                    .setQuery(QueryBuilders.wrapperQuery(fusion(text)))
                    .setFrom(from)
                    .setSize(2)
                    .get()));
        }
        assertEquals(fused, paged);

        // a filter around it keeps the fused order of what passes
        String filtered =
                "{\"bool\": {\"must\": [" + fusion(text) + "], \"filter\": [{\"term\": {\"kind\": \"food\"}}]}}";
        List<String> food = ids(search("bound", filtered));
        assertFalse(food.isEmpty());
        assertEquals(
                fused.stream()
                        .filter(id -> id.equals("bread") || id.equals("cookies"))
                        .toList(),
                food);

        // aggregations see exactly the fused documents
        SearchResponse aggregated = client().prepareSearch("bound")
                .setQuery(QueryBuilders.wrapperQuery(fusion(text)))
                .addAggregation(AggregationBuilders.terms("kinds").field("kind"))
                .get();
        long bucketed = ((Terms) aggregated.getAggregations().get("kinds"))
                .getBuckets().stream().mapToLong(Terms.Bucket::getDocCount).sum();
        assertEquals(union.size(), bucketed);
    }

    public void testGlobalFusionIsTheSameOnOneShardAndOnThree() {
        for (String method : List.of("rrf", "linear")) {
            String query = "{\"fusion\": {\"method\": \"" + method
                    + "\", \"window_size\": 4, \"queries\": [{\"match\": {\"body\": \"bake the oven\"}}, "
                    + "{\"embed_knn\": {\"vec\": {\"query_text\": \"cooking at home\", \"k\": 4}}}]}}";
            List<String> scored = new ArrayList<>();
            for (String index : List.of("bound", "bound3")) {
                SearchResponse r = client().prepareSearch(index)
                        .setSearchType(SearchType.DFS_QUERY_THEN_FETCH)
                        .setQuery(QueryBuilders.wrapperQuery(query))
                        .get();
                StringBuilder ranking = new StringBuilder();
                for (SearchHit hit : r.getHits().getHits()) {
                    ranking.append(hit.getId())
                            .append('@')
                            .append(hit.getScore())
                            .append(' ');
                }
                scored.add(ranking.toString());
            }
            assertEquals(method, scored.get(0), scored.get(1));
        }
        // the same query fused per shard: three shards each have a rank 1, so the fused scores cannot match
        String perShard =
                "{\"fusion\": {\"scope\": \"shard\", \"window_size\": 4, \"queries\": [{\"match\": {\"body\": \"bake the oven\"}}, "
                        + "{\"embed_knn\": {\"vec\": {\"query_text\": \"cooking at home\", \"k\": 4}}}]}}";
        float oneShardTop = search("bound", perShard).getHits().getAt(0).getScore();
        SearchResponse threeShards = search("bound3", perShard);
        assertEquals(2f / 61, oneShardTop, 1e-6f);
        assertNotEquals(
                threeShards.getHits().getTotalHits().value(),
                search("bound", perShard).getHits().getTotalHits().value());
    }

    public void testMalformedFusionIsABadRequest() {
        assertBadRequest(() -> search("bound", "{\"fusion\": {\"queries\": []}}"), "non-empty [queries]");
        assertBadRequest(
                () -> search("bound", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"method\": \"borda\"}}"),
                "unknown [method] [borda]");
        assertBadRequest(
                () -> search("bound", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"weights\": [1, 2]}}"),
                "one weight per query");
        assertBadRequest(
                () -> search("bound", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"window_size\": 0}}"),
                "[window_size] must be within");
        assertBadRequest(
                () -> search("bound", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"normalization\": \"l2\"}}"),
                "applies to method [linear] only");
        assertBadRequest(
                () -> search("bound", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"scope\": \"node\"}}"),
                "unknown [scope] [node]");
        assertBadRequest(() -> search("bound", "{\"embeddings_fused_ids\": {}}"), "is internal to [fusion]");
    }

    public void testNeuralQueryShapeRunsAsEmbedKnn() {
        String text = "erupting mountains and lava";
        SearchResponse neural = search(
                "bound",
                "{\"neural\": {\"vec\": {\"query_text\": \"" + text + "\", \"model_id\": \"" + BGE
                        + "\", \"k\": 3, \"filter\": {\"term\": {\"kind\": \"science\"}}}}}");
        SearchResponse knn = search(
                "bound",
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"" + text
                        + "\", \"k\": 3, \"filter\": {\"term\": {\"kind\": \"science\"}}}}}");
        assertEquals("volcano", ids(neural).get(0));
        assertEquals(ids(knn), ids(neural));
    }

    public void testMinScoreAndNumCandidates() {
        String text = "sports championship";
        SearchResponse wide = search(
                "bound",
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"" + text + "\", \"k\": 8, \"num_candidates\": 20}}}");
        assertEquals(8, wide.getHits().getHits().length);
        float threshold = wide.getHits().getAt(2).getScore();
        SearchResponse cut = search(
                "bound",
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"" + text + "\", \"k\": 8, \"min_score\": " + threshold
                        + "}}}");
        assertEquals(ids(wide).subList(0, 3), ids(cut));
        assertBadRequest(
                () -> search(
                        "bound",
                        "{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"k\": 10, \"num_candidates\": 5}}}"),
                "[num_candidates]");
    }

    private NodeEmbeddingsStats localStats() {
        EmbeddingsStatsAction.Response response = client().execute(
                        EmbeddingsStatsAction.INSTANCE, new EmbeddingsStatsAction.Request())
                .actionGet();
        assertEquals(1, response.getNodes().size());
        return response.getNodes().get(0).stats();
    }

    public void testRepeatedQueryTextIsServedFromTheCache() {
        String query = "{\"embed_knn\": {\"vec\": {\"query_text\": \"a question asked twice " + randomAlphaOfLength(8)
                + "\", \"k\": 2}}}";
        search("bound", query);
        NodeEmbeddingsStats before = localStats();
        search("bound", query);
        NodeEmbeddingsStats after = localStats();
        assertEquals(
                before.models().get(BGE).requests(), after.models().get(BGE).requests());
        assertEquals(before.queryCache().hits() + 1, after.queryCache().hits());
        assertTrue(after.loadedModelBytes() > 100_000_000L);
    }

    public void testConcurrentQueriesShareInferenceBatches() throws Exception {
        int queries = 12;
        long before = localStats().models().get(BGE).requests();
        List<ActionFuture<SearchResponse>> calls = new ArrayList<>();
        String tag = randomAlphaOfLength(6);
        for (int i = 0; i < queries; i++) {
            String query = "{\"embed_knn\": {\"vec\": {\"query_text\": \"concurrent question " + i + " " + tag
                    + "\", \"k\": 2}}}";
            calls.add(client().prepareSearch("bound")
                    .setQuery(QueryBuilders.wrapperQuery(query))
                    .execute());
        }
        for (var call : calls) {
            assertEquals(2, call.actionGet().getHits().getHits().length);
        }
        long encodes = localStats().models().get(BGE).requests() - before;
        // the first query's encode starts at once; the others wait behind it and go together
        assertTrue(
                queries + " concurrent queries took " + encodes + " encoder calls",
                encodes >= 1 && encodes < queries / 2);
    }
}

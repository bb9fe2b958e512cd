package org.embeddings.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.embeddings.opensearch.action.LoadModelAction;
import org.embeddings.opensearch.action.ModelLifecycle;
import org.embeddings.opensearch.action.NodeEmbeddingsStats;
import org.embeddings.opensearch.action.UnloadModelAction;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * {@code bge-small-en-v1.5-int8} in an in-JVM node where only {@code bge-small-en-v1.5} is installed: a field bound
 * to the int8 name takes its dims from the base model's card, a pipeline ingests through it, {@code embed_knn}
 * finds by it, the models list and the stats show it with the int8 file's bytes, and the file sits under the
 * node's data path. A field bound to the fp32 model accepts queries encoded by its int8 form (once an operator has
 * loaded it: a search may not build a form no mapping or pipeline names), and no other model.
 */
public class Int8SingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";
    private static final String INT8 = BGE + "-int8";
    private static final String[] DOCS = {
        "Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen.",
        "Stock markets fell sharply on Tuesday as investors worried about rising interest rates.",
        "Cream the butter and sugar, fold in chocolate chips and bake the cookies for twelve minutes.",
        "A volcano erupts when magma from beneath the crust rises and escapes through vents."
    };

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    private void index(String index, String pipeline) {
        client().admin()
                .cluster()
                .preparePutPipeline(
                        pipeline,
                        new BytesArray("{\"processors\":[{\"embed\":{\"model\":\"" + pipeline
                                + "\",\"field_map\":{\"body\":\"vec\"}}}]}"),
                        XContentType.JSON)
                .get();
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < DOCS.length; i++) {
            bulk.add(client().prepareIndex(index)
                    .setId(Integer.toString(i))
                    .setPipeline(pipeline)
                    .setSource("body", DOCS[i]));
        }
        BulkResponse response = bulk.get();
        assertFalse(response.buildFailureMessage(), response.hasFailures());
    }

    private SearchResponse search(String index, String model, String text) {
        String modelField = model == null ? "" : ", \"model\": \"" + model + "\"";
        String query = "{\"embed_knn\": {\"vec\": {\"query_text\": \"" + text + "\"" + modelField + ", \"k\": 4}}}";
        return client().prepareSearch(index)
                .setQuery(QueryBuilders.wrapperQuery(query))
                .get();
    }

    @SuppressWarnings("unchecked")
    public void testInt8FormOfAnInstalledModelWorksLikeAnyModel() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        client().admin()
                .indices()
                .prepareCreate("int8")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + INT8)
                .get();
        index("int8", INT8);
        SearchResponse hits = search("int8", null, "how do plants make sugar from light");
        assertEquals("0", hits.getHits().getAt(0).getId());
        assertEquals(
                "3",
                search("int8", null, "molten rock erupting").getHits().getAt(0).getId());

        InferenceService inference = getInstanceFromNode(InferenceService.class);
        assertTrue(
                inference.registry().installed().toString(),
                inference.registry().installed().containsAll(List.of(BGE, INT8)));
        assertEquals(384, inference.registry().card(INT8).dims());

        NodeEmbeddingsStats stats = client().execute(
                        EmbeddingsStatsAction.INSTANCE, new EmbeddingsStatsAction.Request())
                .actionGet()
                .getNodes()
                .get(0)
                .stats();
        NodeEmbeddingsStats.Model model = stats.models().get(INT8);
        assertNotNull(stats.toString(), model);
        assertTrue(model.toString(), model.texts() >= DOCS.length + 2);

        Path dir = Path.of(getInstanceFromNode(NodeEnvironment.class)
                        .nodeDataPaths()[0]
                        .toString())
                .resolve(EmbeddingsPlugin.INT8_DIR);
        List<Path> files;
        try (var listing = Files.list(dir)) {
            files = listing.filter(f -> f.getFileName().toString().endsWith(".onnx"))
                    .toList(); // the test file system adds extra files
        }
        assertEquals(files.toString(), 1, files.size());
        assertEquals(Files.size(files.get(0)), model.modelBytes());
        assertEquals(Files.size(files.get(0)), inference.registry().loadedBytes(INT8));
    }

    public void testAFieldBoundToTheFp32ModelTakesQueriesEncodedByItsInt8Form() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        TestModels.install(getInstanceFromNode(Environment.class), BGE + "-q");
        client().admin()
                .indices()
                .prepareCreate("fp32")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        index("fp32", BGE);
        SearchResponse fp32 = search("fp32", null, "how do plants make sugar from light");
        // no mapping binds the int8 form, no pipeline names it: a search may not build it, an operator may. The node
        // is shared by this class's tests, so what another test left (its pipeline, the loaded model) goes first.
        if (client().admin().cluster().prepareGetPipeline(INT8).get().isFound()) {
            client().admin().cluster().prepareDeletePipeline(INT8).get();
        }
        client().execute(UnloadModelAction.INSTANCE, new ModelLifecycle.Request(INT8, ModelLifecycle.DEFAULT_WAIT))
                .actionGet();
        assertBusy(() -> assertEquals(
                0, getInstanceFromNode(InferenceService.class).registry().loadedBytes(INT8)));
        Exception refused = expectThrows(Exception.class, () -> search("fp32", INT8, "plants"));
        assertEquals(RestStatus.BAD_REQUEST, ExceptionsHelper.status(refused));
        assertTrue(
                ExceptionsHelper.stackTrace(refused),
                ExceptionsHelper.stackTrace(refused).contains("embeddings.models.load_on_query"));
        assertFalse(getInstanceFromNode(InferenceService.class).registry().isLoadedOrLoading(INT8));
        ModelLifecycle.Response loaded = client().execute(
                        LoadModelAction.INSTANCE, new ModelLifecycle.Request(INT8, ModelLifecycle.DEFAULT_WAIT))
                .actionGet();
        assertEquals(RestStatus.OK, loaded.status());
        assertEquals("loaded", loaded.getNodes().get(0).outcome().state());
        SearchResponse int8 = search("fp32", INT8, "how do plants make sugar from light");
        assertEquals("0", int8.getHits().getAt(0).getId());
        assertEquals(fp32.getHits().getAt(0).getScore(), int8.getHits().getAt(0).getScore(), 0.01f);
        assertNotEquals(
                "the query was encoded by the other graph",
                fp32.getHits().getAt(0).getScore(),
                int8.getHits().getAt(0).getScore());

        Exception other = expectThrows(Exception.class, () -> search("fp32", BGE + "-q", "plants"));
        assertTrue(
                ExceptionsHelper.stackTrace(other),
                ExceptionsHelper.stackTrace(other).contains("is bound to model [" + BGE + "], not [" + BGE + "-q]"));
        Exception int8OfOther = expectThrows(Exception.class, () -> search("fp32", BGE + "-q-int8", "plants"));
        assertTrue(
                ExceptionsHelper.stackTrace(int8OfOther),
                ExceptionsHelper.stackTrace(int8OfOther).contains("is bound to model [" + BGE + "]"));
    }
}

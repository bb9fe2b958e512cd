package org.embeddings.opensearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.embeddings.opensearch.ingest.BulkCharge;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.ingest.SimulateDocumentVerboseResult;
import org.opensearch.action.ingest.SimulatePipelineResponse;
import org.opensearch.action.ingest.SimulateProcessorResult;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.indices.breaker.CircuitBreakerService;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * The plugin inside an in-JVM node (OpenSearch test framework): the {@code embedding} mapper's validation, the
 * {@code embed} processor through the simulate API, and {@code embed_knn} with a real model installed the way users
 * install one, into {@code config/embeddings/models/<name>/}.
 */
public class EmbeddingsSingleNodeTests extends OpenSearchSingleNodeTestCase {
    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    public void testMapperIndexesVectorsAndRejectsBadOnes() {
        client().admin()
                .indices()
                .prepareCreate("vectors")
                .setMapping("v", "type=embedding,dims=3,similarity=l2_norm")
                .get();
        client().prepareIndex("vectors")
                .setId("1")
                .setSource("{\"v\": [1, 2, 3]}", XContentType.JSON)
                .get();

        MapperParsingException wrongDims = expectThrows(
                MapperParsingException.class,
                () -> client().prepareIndex("vectors")
                        .setId("2")
                        .setSource("{\"v\": [1, 2]}", XContentType.JSON)
                        .get());
        assertTrue(
                wrongDims.getCause().getMessage(),
                wrongDims.getCause().getMessage().contains("[v] expects a vector of [3] dims"));

        MapperParsingException notNumbers = expectThrows(
                MapperParsingException.class,
                () -> client().prepareIndex("vectors")
                        .setId("3")
                        .setSource("{\"v\": [1, \"x\", 3]}", XContentType.JSON)
                        .get());
        assertTrue(
                notNumbers.getCause().getMessage(),
                notNumbers.getCause().getMessage().contains("[v] of type [embedding] expects numbers"));
    }

    public void testMalformedMappingsAreRefused() {
        Exception noDims = expectThrows(
                MapperParsingException.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("nodims")
                        .setMapping("v", "type=embedding")
                        .get());
        assertTrue(noDims.getMessage(), noDims.getMessage().contains("needs [dims]"));
        Exception hugeDims = expectThrows(
                MapperParsingException.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("huge")
                        .setMapping("v", "type=embedding,dims=100000")
                        .get());
        assertTrue(hugeDims.getMessage(), hugeDims.getMessage().contains("[100000]"));
        Exception similarity = expectThrows(
                MapperParsingException.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("sim")
                        .setMapping("v", "type=embedding,dims=3,similarity=manhattan")
                        .get());
        assertTrue(similarity.getMessage(), similarity.getMessage().contains("manhattan"));
    }

    public void testCopyToLinksAreCheckedOnTheWholeMapping() {
        // a vector copied into an embedding field of the same dims is indexed there too
        client().admin().indices().prepareCreate("copies").setMapping("""
                        {"properties": {"v": {"type": "embedding", "dims": 3, "copy_to": "w"},
                          "w": {"type": "embedding", "dims": 3, "similarity": "l2_norm"}}}""").get();
        client().prepareIndex("copies")
                .setId("1")
                .setSource("{\"v\": [1, 2, 3]}", XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        SearchResponse copied = client().prepareSearch("copies")
                .setQuery(
                        QueryBuilders.wrapperQuery("{\"embed_knn\": {\"w\": {\"query_vector\": [1, 2, 3], \"k\": 1}}}"))
                .get();
        assertEquals(1, copied.getHits().getTotalHits().value());
        assertEquals(1.0f, copied.getHits().getAt(0).getScore(), 0.0f);

        // the check runs on the merged mapping: a link added before or after its other end is refused alike
        client().admin()
                .indices()
                .prepareCreate("links")
                .setMapping("{\"properties\": {\"title\": {\"type\": \"text\", \"copy_to\": \"v\"}}}")
                .get();
        IllegalArgumentException target = expectThrows(
                IllegalArgumentException.class,
                () -> client().admin()
                        .indices()
                        .preparePutMapping("links")
                        .setSource(
                                "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 3}}}", XContentType.JSON)
                        .get());
        assertTrue(
                target.getMessage(), target.getMessage().contains("field [title] of type [text] can't [copy_to] [v]"));
        client().admin()
                .indices()
                .preparePutMapping("links")
                .setSource("{\"properties\": {\"u\": {\"type\": \"embedding\", \"dims\": 3}}}", XContentType.JSON)
                .get();
        IllegalArgumentException source = expectThrows(
                IllegalArgumentException.class,
                () -> client().admin()
                        .indices()
                        .preparePutMapping("links")
                        .setSource(
                                "{\"properties\": {\"body\": {\"type\": \"keyword\", \"copy_to\": \"u\"}}}",
                                XContentType.JSON)
                        .get());
        assertTrue(
                source.getMessage(),
                source.getMessage().contains("field [body] of type [keyword] can't [copy_to] [u]"));
    }

    public void testProcessorAndQueryThroughAnInstalledModel() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), "bge-small-en-v1.5");
        client().admin()
                .indices()
                .prepareCreate("docs")
                .setMapping("body", "type=text", "vec", "type=embedding,dims=384")
                .get();
        client().admin()
                .cluster()
                .preparePutPipeline(
                        "p",
                        new BytesArray(
                                "{\"processors\":[{\"embed\":{\"model\":\"BGE-small-en-v1.5\",\"field_map\":{\"body\":\"vec\"}}}]}"),
                        XContentType.JSON)
                .get();
        String[] bodies = {
            "Glaciers carve valleys as they slowly flow downhill.", "The recipe needs two eggs and a cup of flour."
        };
        for (int i = 0; i < bodies.length; i++) {
            client().prepareIndex("docs")
                    .setId(Integer.toString(i))
                    .setPipeline("p")
                    .setSource("{\"body\": \"" + bodies[i] + "\"}", XContentType.JSON)
                    .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                    .get();
        }
        String query =
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"what shapes mountain valleys\", \"model\": \"bge-small-en-v1.5\", \"k\": 2}}}";
        SearchResponse response = client().prepareSearch("docs")
                .setQuery(QueryBuilders.wrapperQuery(query))
                .get();
        assertEquals(2, response.getHits().getHits().length);
        assertEquals("0", response.getHits().getAt(0).getId());

        String onText = "{\"embed_knn\": {\"body\": {\"query_text\": \"valleys\", \"model\": \"bge-small-en-v1.5\"}}}";
        Exception notEmbedding = expectThrows(
                Exception.class,
                () -> client().prepareSearch("docs")
                        .setQuery(QueryBuilders.wrapperQuery(onText))
                        .get());
        assertTrue(
                notEmbedding.toString(),
                ExceptionsHelper.stackTrace(notEmbedding).contains("needs a field of type [embedding]"));
    }

    /**
     * The vector a document holds is a list OpenSearch can copy: {@code _simulate?verbose} copies the document after
     * each processor (a bare {@code float[]} fails that copy), into a list of the model's dims. Outside a bulk the
     * processor's breaker charge is given back once it is done.
     */
    @SuppressWarnings("unchecked")
    public void testVerboseSimulationCopiesTheVectorAndNothingStaysCharged() throws Exception {
        TestModels.install(getInstanceFromNode(Environment.class), "bge-small-en-v1.5");
        String pipeline = "{\"pipeline\": {\"processors\": ["
                + "{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"field_map\": {\"body\": \"vec\"}}}]},"
                + "\"docs\": [{\"_source\": {\"body\": \"glaciers carve valleys\"}}]}";
        SimulatePipelineResponse response = client().admin()
                .cluster()
                .prepareSimulatePipeline(new BytesArray(pipeline), XContentType.JSON)
                .setVerbose(true)
                .get();
        SimulateDocumentVerboseResult result =
                (SimulateDocumentVerboseResult) response.getResults().get(0);
        assertEquals(1, result.getProcessorResults().size());
        for (SimulateProcessorResult processor : result.getProcessorResults()) {
            assertNull(processor.getFailure());
        }
        Map<String, Object> source =
                result.getProcessorResults().get(0).getIngestDocument().getSourceAndMetadata();
        List<Object> vector = (List<Object>) source.get("vec");
        assertEquals(384, vector.size());
        assertTrue(vector.get(0) instanceof Float);
        CircuitBreaker breaker =
                getInstanceFromNode(CircuitBreakerService.class).getBreaker(BulkCharge.BREAKER);
        assertEquals(0, breaker.getUsed());
    }
}

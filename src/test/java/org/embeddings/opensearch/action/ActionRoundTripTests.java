package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.opensearch.ExceptionsHelper;
import org.opensearch.Version;
import org.opensearch.action.IndicesRequest;
import org.opensearch.cluster.ClusterName;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.Strings;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.test.OpenSearchTestCase;

/**
 * The transport actions' requests and responses cross the wire unchanged, the embed request parses what it prints,
 * validation names every problem, and the node statistics print as JSON without a key twice (parsed strictly).
 */
public class ActionRoundTripTests extends OpenSearchTestCase {
    private static final NamedWriteableRegistry NONE = new NamedWriteableRegistry(List.of());

    public void testEmbedRequestParsesAndCrossesTheWire() throws IOException {
        EmbedRequest request = new EmbedRequest(
                "bge-small-en-v1.5", randomFrom("query", "passage", "none"), List.of("a", randomAlphaOfLength(20)));
        assertEquals(request, copyWriteable(request, NONE, EmbedRequest::new));
        String json = JsonXContent.contentBuilder()
                .startObject()
                .field("model", "bge-small-en-v1.5")
                .field("role", request.role().label())
                .field("texts", request.texts())
                .endObject()
                .toString();
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                NamedXContentRegistry.EMPTY, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
            assertEquals(request, EmbedRequest.parse(parser));
        }
        assertNull(request.validate());
    }

    public void testEmbedRequestTextsAreStrings() throws IOException {
        String one = "{\"model\": \"m\", \"role\": \"query\", \"texts\": \"one text\"}";
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                NamedXContentRegistry.EMPTY, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, one)) {
            assertEquals(List.of("one text"), EmbedRequest.parse(parser).texts());
        }
        for (String bad : List.of("5", "true", "null", "[\"a\"]", "{\"a\": \"b\"}")) {
            String json = "{\"model\": \"m\", \"role\": \"query\", \"texts\": [\"ok\", " + bad + "]}";
            try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                    NamedXContentRegistry.EMPTY, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
                Exception e = expectThrows(Exception.class, () -> EmbedRequest.parse(parser));
                assertTrue(
                        bad + ": " + ExceptionsHelper.stackTrace(e),
                        ExceptionsHelper.stackTrace(e).contains("[texts][1] must be a string"));
            }
        }
    }

    public void testEmbedRequestValidationNamesEveryProblem() {
        List<String> errors =
                new EmbedRequest(null, "boss", List.of("ok", " ")).validate().validationErrors();
        assertEquals(errors.toString(), 3, errors.size());
        assertTrue(errors.toString(), errors.get(0).contains("[model] is required"));
        assertTrue(errors.toString(), errors.get(1).contains("[boss]"));
        assertTrue(errors.toString(), errors.get(2).contains("[texts][1] is empty"));
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i <= EmbedRequest.MAX_TEXTS; i++) {
            tooMany.add("t");
        }
        assertTrue(
                new EmbedRequest("m", "query", tooMany).validate().getMessage().contains("at most 1024"));
    }

    public void testEmbedResponseCrossesTheWire() throws IOException {
        float[][] vectors = new float[randomIntBetween(0, 5)][];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = new float[] {randomFloat(), randomFloat(), -randomFloat()};
        }
        EmbedResponse response = new EmbedResponse("e5-small-v2", vectors);
        assertEquals(response, copyWriteable(response, NONE, EmbedResponse::new));
    }

    public void testModelsResponseCrossesTheWire() throws IOException {
        ModelsResponse response = new ModelsResponse(
                "node-1",
                List.of(
                        new ModelInfo(
                                "a",
                                true,
                                "loaded",
                                null,
                                new ModelInfo.Recipe("org/a", 384, "cls", true, 512, "q: ", "", "")),
                        new ModelInfo("b", true, "failed", "cannot load ONNX model [/x/model.onnx]: truncated", null)));
        ModelsResponse copy = copyWriteable(response, NONE, ModelsResponse::new);
        assertEquals(response.models(), copy.models());
        assertStrictJson(response);
    }

    public void testNodeStatsCrossTheWireAndPrintEachKeyOnce() throws IOException {
        Map<String, NodeEmbeddingsStats.Model> models = new LinkedHashMap<>();
        models.put(
                "bge-small-en-v1.5",
                new NodeEmbeddingsStats.Model(
                        3,
                        40,
                        900,
                        1000,
                        4,
                        120,
                        133_000_000,
                        true,
                        2,
                        new org.embeddings.encoder.EncoderStats.Stages(2, 10, 20, 30, 40, 1)));
        Map<String, NodeEmbeddingsStats.Percentiles> latency = new LinkedHashMap<>();
        latency.put("query_wait_millis", new NodeEmbeddingsStats.Percentiles(new double[] {0.5, 1.5, 9}));
        Map<String, NodeEmbeddingsStats.Pool> pools = new LinkedHashMap<>();
        pools.put("embeddings", new NodeEmbeddingsStats.Pool(1, 2, 1, 30, 1));
        NodeEmbeddingsStats stats = new NodeEmbeddingsStats(
                models,
                133_000_000,
                2_000_000_000,
                new NodeEmbeddingsStats.Cache(5, 7, 7, 7 * 1712, 16 << 20),
                latency,
                1,
                2,
                3,
                pools,
                Map.of("bge-small-en-v1.5", new IngestReuse(5, 4000, 12, 5183, 4100, 950)));
        NodeEmbeddingsStats copy = copyWriteable(stats, NONE, NodeEmbeddingsStats::new);
        assertEquals(stats.models(), copy.models());
        assertEquals(stats.queryCache(), copy.queryCache());
        assertEquals(2, copy.documentTimeouts());
        assertEquals(3, copy.rejectedInferenceRequests());
        assertEquals(stats.threadPools(), copy.threadPools());
        assertEquals(stats.ingest(), copy.ingest());
        assertArrayEquals(
                stats.latency().get("query_wait_millis").millis(),
                copy.latency().get("query_wait_millis").millis(),
                0);
        XContentBuilder json = JsonXContent.contentBuilder().startObject();
        stats.toXContent(json, ToXContent.EMPTY_PARAMS);
        assertStrictJson(json.endObject().toString());
    }

    /**
     * The vector statistics are an index-level action over an indices request a security plugin can narrow: its name
     * is under {@code indices:}, and the indices it reports are the ones the request names after replacement.
     */
    public void testVectorsStatsAreAnIndexLevelActionAndCrossTheWire() throws IOException {
        assertTrue(VectorsStatsAction.NAME.startsWith("indices:monitor/"));
        VectorsStatsAction.Request request = new VectorsStatsAction.Request("a*", "b");
        assertTrue(request instanceof IndicesRequest.Replaceable);
        request.indices("a1");
        VectorsStatsAction.Request copy = copyWriteable(request, NONE, VectorsStatsAction.Request::new);
        assertArrayEquals(new String[] {"a1"}, copy.indices());
        assertEquals(request.indicesOptions(), copy.indicesOptions());

        VectorsStatsAction.ShardField primary =
                new VectorsStatsAction.ShardField("a1", 0, true, "vec", Map.of("type", "hnsw"), 3, 2, 10, 120, 0, 300);
        VectorsStatsAction.ShardField replica =
                new VectorsStatsAction.ShardField("a1", 0, false, "vec", Map.of("type", "hnsw"), 3, 1, 10, 120, 0, 280);
        VectorsStatsAction.Response response = new VectorsStatsAction.Response(
                2,
                2,
                0,
                List.of(),
                List.of(
                        new VectorsStatsAction.ShardFields(List.of(primary)),
                        new VectorsStatsAction.ShardFields(List.of(replica))));
        VectorsStatsAction.Response back = copyWriteable(response, NONE, VectorsStatsAction.Response::new);
        assertEquals(response.fields(), back.fields());
        assertEquals(2, back.getSuccessfulShards());
        String json = Strings.toString(MediaTypeRegistry.JSON, back);
        assertStrictJson(json);
        assertTrue(json, json.contains("\"_shards\":{\"total\":2,\"successful\":2,\"failed\":0}"));
        assertTrue(json, json.contains("\"primaries\":{\"shard_copies\":1,\"segments\":2,\"vectors\":10"));
        assertTrue(json, json.contains("\"total\":{\"shard_copies\":2,\"segments\":3,\"vectors\":20"));
    }

    public void testModelLifecycleRequestsCrossTheWireAndValidateTheName() throws IOException {
        ModelLifecycle.Request request = new ModelLifecycle.Request(
                "e5-small-v2-int8", TimeValue.timeValueSeconds(randomIntBetween(0, 300)), "node-1", "node-2");
        assertEquals(request, copyWriteable(request, NONE, ModelLifecycle.Request::new));
        assertNull(request.validate());
        ModelLifecycle.NodeRequest node = new ModelLifecycle.NodeRequest("bge-small-en-v1.5", TimeValue.ZERO);
        ModelLifecycle.NodeRequest nodeCopy = copyWriteable(node, NONE, ModelLifecycle.NodeRequest::new);
        assertEquals(node.model(), nodeCopy.model());
        assertEquals(node.waitFor(), nodeCopy.waitFor());

        List<String> errors = new ModelLifecycle.Request("../etc", TimeValue.timeValueSeconds(-1))
                .validate()
                .validationErrors();
        assertEquals(errors.toString(), 2, errors.size());
        assertTrue(errors.toString(), errors.get(0).contains("invalid model name [../etc]"));
        assertTrue(errors.toString(), errors.get(1).contains("[timeout] must not be negative"));
    }

    public void testModelLifecycleResponseCrossesTheWireAndTakesTheWorstNodesStatus() throws IOException {
        DiscoveryNode a = new DiscoveryNode("a", buildNewFakeTransportAddress(), Version.CURRENT);
        DiscoveryNode b = new DiscoveryNode("b", buildNewFakeTransportAddress(), Version.CURRENT);
        ModelLifecycle.Response ok = new ModelLifecycle.Response(
                new ClusterName("c"),
                List.of(
                        new ModelLifecycle.NodeResponse(
                                a, new ModelLifecycle.Outcome("bge-small-en-v1.5", "loaded", 133_093_490, null, 200)),
                        new ModelLifecycle.NodeResponse(
                                b, new ModelLifecycle.Outcome("bge-small-en-v1.5", "loading", 0, null, 200))),
                List.of());
        ModelLifecycle.Response copy = copyWriteable(ok, NONE, ModelLifecycle.Response::new);
        assertEquals(2, copy.getNodes().size());
        assertEquals(ok.getNodes().get(0).outcome(), copy.getNodes().get(0).outcome());
        assertEquals(ok.getNodes().get(1).outcome(), copy.getNodes().get(1).outcome());
        assertEquals(RestStatus.OK, copy.status());
        XContentBuilder json = JsonXContent.contentBuilder().startObject();
        ok.toXContent(json, ToXContent.EMPTY_PARAMS);
        assertStrictJson(json.endObject().toString());

        ModelLifecycle.Response mixed = new ModelLifecycle.Response(
                new ClusterName("c"),
                List.of(
                        new ModelLifecycle.NodeResponse(
                                a, new ModelLifecycle.Outcome("x", "failed", 0, "model [x] has a malformed card", 400)),
                        new ModelLifecycle.NodeResponse(
                                b, new ModelLifecycle.Outcome("x", "backoff", 0, "out of memory", 503))),
                List.of());
        assertEquals(
                RestStatus.SERVICE_UNAVAILABLE,
                copyWriteable(mixed, NONE, ModelLifecycle.Response::new).status());
    }

    private static void assertStrictJson(ToXContent content) throws IOException {
        assertStrictJson(Strings.toString(MediaTypeRegistry.JSON, content));
    }

    /** OpenSearch's JSON parser refuses a duplicate key; a lenient one would keep the last and hide it. */
    private static void assertStrictJson(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                NamedXContentRegistry.EMPTY, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
            assertNotNull(parser.map());
        }
    }
}

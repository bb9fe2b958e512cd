package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.embeddings.lucene.Normalization;
import org.embeddings.lucene.ScoreFusion;
import org.embeddings.opensearch.EmbeddingsPlugin;
import org.opensearch.ExceptionsHelper;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.Strings;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.search.SearchModule;
import org.opensearch.test.OpenSearchTestCase;

/**
 * Every query builder of the plugin survives both trips a query takes, in the style of OpenSearch's
 * {@code AbstractQueryTestCase}: to JSON and parsed back (what a client sends, and what {@code _validate} or a slow log
 * prints), and over the wire (coordinating node to shards), for randomized instances. Equal means equal and with equal
 * hash codes, so that the request cache and rewrite loops see the same query.
 */
public class QueryBuilderRoundTripTests extends OpenSearchTestCase {
    private static final int ROUNDS = 40;

    private final SearchModule module = new SearchModule(
            Settings.EMPTY,
            List.of(new EmbeddingsPlugin(Settings.builder()
                    .put(EmbeddingsPlugin.NEURAL_QUERY.getKey(), true)
                    .build())));
    private final NamedWriteableRegistry writeables = new NamedWriteableRegistry(module.getNamedWriteables());
    private final NamedXContentRegistry xContents = new NamedXContentRegistry(module.getNamedXContents());

    private QueryBuilder parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                xContents, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
            return AbstractQueryBuilder.parseInnerQueryBuilder(parser);
        }
    }

    private QueryBuilder overTheWire(QueryBuilder builder) throws IOException {
        return copyNamedWriteable(builder, writeables, QueryBuilder.class);
    }

    private void assertSameQuery(QueryBuilder expected, QueryBuilder actual) {
        assertEquals(expected, actual);
        assertEquals(expected.hashCode(), actual.hashCode());
    }

    private QueryBuilder randomFilter() {
        return randomFrom(
                QueryBuilders.termQuery("kind", randomAlphaOfLength(5)),
                QueryBuilders.rangeQuery("year").gte(randomIntBetween(1900, 2000)),
                QueryBuilders.boolQuery().filter(QueryBuilders.existsQuery("title")));
    }

    /** A parsed (not yet encoded) {@code embed_knn}, with every option randomly present or absent. */
    private EmbedKnnQueryBuilder randomEmbedKnn() throws IOException {
        XContentBuilder json = JsonXContent.contentBuilder()
                .startObject()
                .startObject("embed_knn")
                .startObject(randomAlphaOfLength(6));
        if (randomBoolean()) {
            json.field("query_text", randomRealisticUnicodeOfCodepointLengthBetween(1, 40) + "x");
        } else {
            float[] vector = new float[randomIntBetween(1, 64)];
            for (int i = 0; i < vector.length; i++) {
                vector[i] = randomFloat() - 0.5f;
            }
            json.array("query_vector", vector);
        }
        if (randomBoolean()) {
            json.field("model", randomFrom("bge-small-en-v1.5", "E5-Small-V2", "all-minilm-l6-v2"));
        }
        int k = randomIntBetween(1, 900);
        if (randomBoolean()) {
            json.field("k", k);
        }
        if (randomBoolean()) {
            json.field("num_candidates", randomIntBetween(Math.max(k, 10), 10_000));
        }
        if (randomBoolean()) {
            json.field("min_score", randomFloat());
        }
        if (randomBoolean()) {
            json.field("exact", randomBoolean());
        }
        if (randomBoolean()) {
            json.field("oversample", randomFrom(0f, 1f, 1.5f, 3f, 10f));
        }
        if (randomBoolean()) {
            json.field("filter", randomFilter());
        }
        if (randomBoolean()) {
            json.field("boost", 0.1f + randomIntBetween(0, 99) / 10f);
        }
        if (randomBoolean()) {
            json.field("_name", randomAlphaOfLength(4));
        }
        return (EmbedKnnQueryBuilder)
                parse(json.endObject().endObject().endObject().toString());
    }

    private FusionQueryBuilder randomFusion() throws IOException {
        int n = randomIntBetween(1, 3);
        List<QueryBuilder> queries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            queries.add(randomBoolean() ? randomEmbedKnn() : QueryBuilders.matchQuery("body", randomAlphaOfLength(7)));
        }
        float[] weights = new float[n];
        for (int i = 0; i < n; i++) {
            weights[i] = (randomIntBetween(0, 50) / 10f);
        }
        ScoreFusion fusion = randomBoolean()
                ? new ScoreFusion.Rrf(randomIntBetween(1, 200))
                : new ScoreFusion.Linear(randomFrom(Normalization.values()));
        FusionQueryBuilder builder = new FusionQueryBuilder(
                queries,
                fusion,
                randomIntBetween(1, FusionQueryBuilder.MAX_WINDOW),
                weights,
                randomFrom(FusionQueryBuilder.Scope.values()));
        if (randomBoolean()) {
            builder.boost((0.1f + randomIntBetween(0, 99) / 10f)).queryName(randomAlphaOfLength(3));
        }
        return builder;
    }

    /**
     * Fusion's bounds are parse errors: nesting past {@link FusionQueryBuilder#MAX_DEPTH} (through any queries
     * between), more than {@link FusionQueryBuilder#MAX_QUERIES} sub-queries, weights past
     * {@link FusionQueryBuilder#MAX_WEIGHT}, a rank constant past its maximum; at the bounds it parses, and the
     * largest rank constant still gives positive, decreasing contributions.
     */
    public void testFusionBoundsAreParseErrors() throws IOException {
        String leaf = "{\"match\": {\"body\": \"x\"}}";
        String nested = leaf;
        for (int depth = 1; depth <= FusionQueryBuilder.MAX_DEPTH; depth++) {
            nested = "{\"bool\": {\"must\": [{\"fusion\": {\"queries\": [" + nested + "]}}]}}";
            assertNotNull(parse(nested));
        }
        String tooDeep = "{\"fusion\": {\"queries\": [" + nested + "]}}";
        Exception deep = expectThrows(Exception.class, () -> parse(tooDeep));
        assertTrue(deep.toString(), ExceptionsHelper.stackTrace(deep).contains("nests more than 5 deep"));
        assertNotNull(parse(nested)); // the count unwinds after a failure

        StringBuilder queries = new StringBuilder();
        for (int i = 0; i < FusionQueryBuilder.MAX_QUERIES; i++) {
            queries.append(i == 0 ? "" : ",").append(leaf);
        }
        assertNotNull(parse("{\"fusion\": {\"queries\": [" + queries + "]}}"));
        Exception many = expectThrows(
                Exception.class, () -> parse("{\"fusion\": {\"queries\": [" + queries + "," + leaf + "]}}"));
        assertTrue(many.toString(), ExceptionsHelper.stackTrace(many).contains("at most 10 [queries]"));

        Exception weight = expectThrows(
                Exception.class, () -> parse("{\"fusion\": {\"queries\": [" + leaf + "], \"weights\": [10001]}}"));
        assertTrue(weight.toString(), ExceptionsHelper.stackTrace(weight).contains("[weights] must be within"));
        assertNotNull(parse("{\"fusion\": {\"queries\": [" + leaf + "], \"weights\": [10000]}}"));
        Exception rank = expectThrows(
                Exception.class,
                () -> parse("{\"fusion\": {\"queries\": [" + leaf + "], \"rank_constant\": 2147483647}}"));
        assertTrue(rank.toString(), ExceptionsHelper.stackTrace(rank).contains("[rank_constant] must be within"));
        float[] contributions = new ScoreFusion.Rrf(ScoreFusion.Rrf.MAX_RANK_CONSTANT).contributions(new float[10_000]);
        for (int i = 1; i < contributions.length; i++) {
            assertTrue(contributions[i] > 0 && contributions[i] <= contributions[i - 1]);
        }
    }

    public void testEmbedKnnXContentAndWireRoundTrips() throws IOException {
        for (int i = 0; i < ROUNDS; i++) {
            EmbedKnnQueryBuilder builder = randomEmbedKnn();
            assertSameQuery(builder, parse(Strings.toString(MediaTypeRegistry.JSON, builder)));
            assertSameQuery(builder, overTheWire(builder));
        }
    }

    public void testAnEncodedEmbedKnnCrossesTheWireWithItsVector() throws IOException {
        EmbedKnnQueryBuilder parsed = randomEmbedKnn();
        float[] vector = new float[randomIntBetween(1, 1024)];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = randomFloat() - 0.5f;
        }
        EmbedKnnQueryBuilder encoded = new EmbedKnnQueryBuilder(
                parsed.field(),
                parsed.queryText(),
                "bge-small-en-v1.5",
                parsed.options(),
                parsed.filter(),
                vector,
                null,
                null);
        EmbedKnnQueryBuilder copy = (EmbedKnnQueryBuilder) overTheWire(encoded);
        assertSameQuery(encoded, copy);
        assertArrayEquals(vector, copy.vector(), 0f);
        assertNotEquals("the vector is part of the query's identity", parsed, encoded);
    }

    public void testNeuralShapeParsesToTheSameEmbedKnn() throws IOException {
        QueryBuilder neural = parse(
                "{\"neural\": {\"vec\": {\"query_text\": \"hello\", \"model_id\": \"bge-small-en-v1.5\", \"k\": 7,"
                        + " \"method_parameters\": {\"ef_search\": 30}}}}");
        QueryBuilder knn = parse(
                "{\"embed_knn\": {\"vec\": {\"query_text\": \"hello\", \"model\": \"bge-small-en-v1.5\", \"k\": 7, \"num_candidates\": 30}}}");
        assertSameQuery(knn, neural);
    }

    public void testFusionXContentAndWireRoundTrips() throws IOException {
        for (int i = 0; i < ROUNDS; i++) {
            FusionQueryBuilder builder = randomFusion();
            assertSameQuery(builder, parse(Strings.toString(MediaTypeRegistry.JSON, builder)));
            assertSameQuery(builder, overTheWire(builder));
        }
    }

    public void testFusedIdsCrossTheWire() throws IOException {
        Map<String, Map<String, Float>> scores =
                Map.of("a", Map.of("1", 0.5f, "2", 0.25f), "b", Map.of(randomAlphaOfLength(10), randomFloat()));
        FusedIdsQueryBuilder builder =
                new FusedIdsQueryBuilder(scores, randomFusion().queries());
        builder.boost(2f);
        assertSameQuery(builder, overTheWire(builder));
        // the sub-queries travel too: ids alone would leave highlighters nothing to read
        assertNotEquals(builder, new FusedIdsQueryBuilder(scores, List.of()).boost(2f));
    }

    public void testParsingTouchesNoNodeState() throws IOException {
        // the plugin here has no components (no registry, no cluster): a model no node has still parses, and fails
        // only when rewritten on a node
        EmbedKnnQueryBuilder builder = (EmbedKnnQueryBuilder)
                parse("{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"model\": \"No-Such-Model\"}}}");
        assertEquals("no-such-model", builder.model());
    }
}

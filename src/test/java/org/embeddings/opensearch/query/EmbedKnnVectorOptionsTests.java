package org.embeddings.opensearch.query;

import java.io.IOException;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.test.OpenSearchTestCase;

/**
 * {@code embed_knn}'s {@code oversample} and {@code query_vector}: parsed, validated with errors that name them,
 * and carried unchanged through XContent and the wire.
 */
public class EmbedKnnVectorOptionsTests extends OpenSearchTestCase {
    private static final EmbedKnnQueryBuilder.Services SERVICES =
            new EmbedKnnQueryBuilder.Services(() -> null, () -> null);

    private EmbedKnnQueryBuilder parse(String json) throws IOException {
        try (XContentParser parser = createParser(JsonXContent.jsonXContent, json)) {
            return EmbedKnnQueryParser.embedKnn(SERVICES).parse(parser);
        }
    }

    private EmbedKnnQueryBuilder roundTrips(String json) throws IOException {
        EmbedKnnQueryBuilder parsed = parse(json);
        XContentBuilder builder = JsonXContent.contentBuilder();
        parsed.toXContent(builder, ToXContent.EMPTY_PARAMS);
        EmbedKnnQueryBuilder again;
        try (XContentParser parser = createParser(builder)) {
            parser.nextToken();
            parser.nextToken();
            again = EmbedKnnQueryParser.embedKnn(SERVICES).parse(parser);
        }
        assertEquals(parsed, again);
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            parsed.writeTo(out);
            try (StreamInput in = out.bytes().streamInput()) {
                assertEquals(parsed, new EmbedKnnQueryBuilder(in, SERVICES));
            }
        }
        return parsed;
    }

    public void testOversampleAndQueryVectorRoundTrip() throws IOException {
        EmbedKnnQueryBuilder b =
                roundTrips("{\"v\": {\"query_vector\": [0.5, -1.25, 3], \"k\": 7, \"oversample\": 2.5}}");
        assertArrayEquals(new float[] {0.5f, -1.25f, 3f}, b.vector(), 0f);
        assertNull(b.queryText());
        assertEquals(Float.valueOf(2.5f), b.options().oversample());
        assertEquals(7, b.options().k());

        EmbedKnnQueryBuilder none = roundTrips("{\"v\": {\"query_text\": \"q\", \"oversample\": 0}}");
        assertEquals(Float.valueOf(0f), none.options().oversample());
        assertNull(roundTrips("{\"v\": {\"query_text\": \"q\"}}").options().oversample());
    }

    public void testBadValuesAreNamed() {
        String[][] cases = {
            {
                "{\"v\": {\"query_text\": \"q\", \"oversample\": 0.5}}",
                "[oversample] must be 0 (no rescoring) or within [1, 100]"
            },
            {
                "{\"v\": {\"query_text\": \"q\", \"oversample\": 101}}",
                "[oversample] must be 0 (no rescoring) or within [1, 100]"
            },
            {
                "{\"v\": {\"query_text\": \"q\", \"k\": 5000, \"oversample\": 3}}",
                "[k] x [oversample] must be at most 10000"
            },
            {"{\"v\": {\"query_text\": \"q\", \"query_vector\": [1]}}", "takes [query_text] or [query_vector], not both"
            },
            {"{\"v\": {\"query_vector\": []}}", "requires a non-empty [query_vector]"},
            {"{\"v\": {\"k\": 3}}", "requires a non-empty [query_text]"}
        };
        for (String[] c : cases) {
            ParsingException e = expectThrows(ParsingException.class, () -> parse(c[0]));
            assertTrue(c[0] + " -> " + e.getMessage(), e.getMessage().contains(c[1]));
        }
    }
}

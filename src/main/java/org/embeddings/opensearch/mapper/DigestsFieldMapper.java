package org.embeddings.opensearch.mapper;

import java.io.IOException;
import java.util.Map;
import org.apache.lucene.search.Query;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.MetadataFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

/**
 * The {@value #NAME} object of a document's source: what the {@code embed} processor wrote each target's vectors
 * from, as digests of recipe and text (see {@code org.embeddings.opensearch.ingest.Digests}), so that a later write of
 * the same text reuses the vectors instead of encoding it again, and a document copied by {@code _reindex} or run
 * again through its pipeline carries the proof that its vectors are still its text's.
 *
 * <p>A metadata field, so that every index accepts it whatever its mapping ({@code dynamic: strict} included) and
 * nothing dynamic maps its keys: it lives in {@code _source} only, and indexes nothing. Its value must be an object.
 */
public final class DigestsFieldMapper extends MetadataFieldMapper {
    public static final String NAME = "_embeddings";

    public static final TypeParser PARSER = new FixedTypeParser(context -> new DigestsFieldMapper());

    static final class DigestsFieldType extends MappedFieldType {
        DigestsFieldType() {
            super(NAME, false, false, false, TextSearchInfo.NONE, Map.of());
        }

        @Override
        public String typeName() {
            return NAME;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup lookup, String format) {
            throw new IllegalArgumentException(
                    "field [" + NAME + "] holds the embed processor's digests; read them" + " from [_source]");
        }

        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            throw new IllegalArgumentException("field [" + NAME + "] is not searchable");
        }
    }

    private DigestsFieldMapper() {
        super(new DigestsFieldType());
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        XContentParser parser = context.parser();
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw new MapperParsingException("field [" + NAME + "] holds the embed processor's digests and must be an"
                    + " object, got [" + parser.currentToken() + "]");
        }
        parser.skipChildren();
    }

    @Override
    protected String contentType() {
        return NAME;
    }
}

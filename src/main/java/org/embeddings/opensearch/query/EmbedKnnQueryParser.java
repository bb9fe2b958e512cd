package org.embeddings.opensearch.query;

import org.embeddings.encoder.ModelName;
import org.embeddings.opensearch.InferenceService;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * Parses {@code {"embed_knn": {"<field>": {"query_text": ..., "model": ..., "k": ..., "filter": {...}}}}} into an
 * {@link EmbedKnnQueryBuilder}, validating each option with an error that names it. Kept apart from the builder so
 * that the builder holds state and behaviour only.
 */
public final class EmbedKnnQueryParser {
    static final ParseField QUERY_TEXT = new ParseField("query_text");
    static final ParseField MODEL = new ParseField("model");
    static final ParseField K = new ParseField("k");
    static final ParseField FILTER = new ParseField("filter");

    /** The mutable bag ObjectParser fills; turned into an immutable builder once validated. */
    private static final class Spec {
        String queryText;
        String model;
        Integer k;
        QueryBuilder filter;
        float boost = AbstractQueryBuilder.DEFAULT_BOOST;
        String queryName;
    }

    private static final ObjectParser<Spec, Void> PARSER = new ObjectParser<>(EmbedKnnQueryBuilder.NAME, Spec::new);

    static {
        PARSER.declareString((s, v) -> s.queryText = v, QUERY_TEXT);
        PARSER.declareString((s, v) -> s.model = v, MODEL);
        PARSER.declareInt((s, v) -> s.k = v, K);
        PARSER.declareObject((s, v) -> s.filter = v, (p, c) -> AbstractQueryBuilder.parseInnerQueryBuilder(p), FILTER);
        PARSER.declareFloat((s, v) -> s.boost = v, AbstractQueryBuilder.BOOST_FIELD);
        PARSER.declareString((s, v) -> s.queryName = v, AbstractQueryBuilder.NAME_FIELD);
    }

    private final Supplier<InferenceService> inference;

    public EmbedKnnQueryParser(Supplier<InferenceService> inference) {
        this.inference = inference;
    }

    public EmbedKnnQueryBuilder parse(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT && parser.nextToken() != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] expects an object");
        }
        if (parser.nextToken() != XContentParser.Token.FIELD_NAME) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] expects one field name");
        }
        String field = parser.currentName();
        if (parser.nextToken() != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] field [" + field + "] expects an object");
        }
        Spec spec = PARSER.parse(parser, null);
        if (parser.nextToken() != XContentParser.Token.END_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] takes exactly one field");
        }
        if (spec.queryText == null || spec.queryText.isBlank()) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] requires a non-empty [query_text]");
        }
        if (spec.model == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] requires [model]");
        }
        int k = spec.k == null ? 10 : spec.k;
        if (k < 1 || k > EmbedKnnQueryBuilder.MAX_K) {
            throw new ParsingException(
                parser.getTokenLocation(),
                "[" + EmbedKnnQueryBuilder.NAME + "] [k] must be within [1, " + EmbedKnnQueryBuilder.MAX_K + "], got [" + k + "]"
            );
        }
        String model;
        try {
            model = ModelName.normalize(spec.model);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] " + e.getMessage());
        }
        InferenceService service = inference.get();
        if (service != null) {
            try {
                service.registry().installedCard(model);
            } catch (IllegalArgumentException e) {
                throw new ParsingException(parser.getTokenLocation(), "[" + EmbedKnnQueryBuilder.NAME + "] " + e.getMessage());
            }
        }
        EmbedKnnQueryBuilder builder = new EmbedKnnQueryBuilder(field, spec.queryText, model, k, spec.filter, null, null, inference);
        builder.boost(spec.boost);
        builder.queryName(spec.queryName);
        return builder;
    }
}

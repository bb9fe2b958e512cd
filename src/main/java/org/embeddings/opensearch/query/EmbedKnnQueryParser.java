package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.List;
import org.embeddings.encoder.ModelName;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;

/**
 * Parses {@code {"embed_knn": {"<field>": {"query_text" | "query_vector", "model", "k", "num_candidates",
 * "min_score", "exact", "oversample", "filter", "boost", "_name"}}}} into an {@link EmbedKnnQueryBuilder},
 * validating each option with an error that names it. Kept apart from the builder so that the builder holds state
 * and behaviour only. Parsing is pure: it reads the request and nothing else (no model registry, no files, no
 * cluster state); whether the node can run the named model is checked once, when the query is rewritten on the
 * coordinating node.
 *
 * <p>{@link #neural()} parses neural-search's request shape ({@code model_id} names the model, and
 * {@code method_parameters.ef_search} sets the candidates) into the same builder, so that existing {@code neural}
 * queries run unchanged on a cluster without neural-search.
 */
public final class EmbedKnnQueryParser {
    /** neural-search's query name, registered only when {@code embeddings.neural_query.enabled} is set. */
    public static final String NEURAL_NAME = "neural";

    static final ParseField QUERY_TEXT = new ParseField("query_text");
    static final ParseField MODEL = new ParseField("model");
    static final ParseField MODEL_ID = new ParseField("model_id");
    static final ParseField K = new ParseField("k");
    static final ParseField NUM_CANDIDATES = new ParseField("num_candidates");
    static final ParseField MIN_SCORE = new ParseField("min_score");
    static final ParseField EXACT = new ParseField("exact");
    static final ParseField OVERSAMPLE = new ParseField("oversample");
    static final ParseField QUERY_VECTOR = new ParseField("query_vector");
    static final ParseField FILTER = new ParseField("filter");
    static final ParseField METHOD_PARAMETERS = new ParseField("method_parameters");
    static final ParseField EF_SEARCH = new ParseField("ef_search");

    /** The mutable bag ObjectParser fills; turned into an immutable builder once validated. */
    private static final class Spec {
        String queryText;
        String model;
        Integer k;
        Integer numCandidates;
        Integer efSearch;
        Float minScore;
        boolean exact;
        Float oversample;
        List<Float> queryVector;
        QueryBuilder filter;
        float boost = AbstractQueryBuilder.DEFAULT_BOOST;
        String queryName;
    }

    private static final ObjectParser<Spec, Void> EMBED_KNN = new ObjectParser<>(EmbedKnnQueryBuilder.NAME, Spec::new);
    private static final ObjectParser<Spec, Void> NEURAL = new ObjectParser<>(NEURAL_NAME, Spec::new);

    /** neural-search's {@code method_parameters}: only {@code ef_search} means something to Lucene's HNSW. */
    private static final class MethodParameters {
        Integer efSearch;
    }

    private static final ObjectParser<MethodParameters, Void> NEURAL_METHOD =
            new ObjectParser<>(METHOD_PARAMETERS.getPreferredName(), MethodParameters::new);

    static {
        for (ObjectParser<Spec, Void> p : new ObjectParser[] {EMBED_KNN, NEURAL}) {
            p.declareString((s, v) -> s.queryText = v, QUERY_TEXT);
            p.declareInt((s, v) -> s.k = v, K);
            p.declareFloat((s, v) -> s.minScore = v, MIN_SCORE);
            p.declareObject(
                    (s, v) -> s.filter = v, (parser, c) -> AbstractQueryBuilder.parseInnerQueryBuilder(parser), FILTER);
            p.declareFloat((s, v) -> s.boost = v, AbstractQueryBuilder.BOOST_FIELD);
            p.declareString((s, v) -> s.queryName = v, AbstractQueryBuilder.NAME_FIELD);
        }
        EMBED_KNN.declareString((s, v) -> s.model = v, MODEL);
        EMBED_KNN.declareInt((s, v) -> s.numCandidates = v, NUM_CANDIDATES);
        EMBED_KNN.declareBoolean((s, v) -> s.exact = v, EXACT);
        EMBED_KNN.declareFloat((s, v) -> s.oversample = v, OVERSAMPLE);
        EMBED_KNN.declareFloatArray((s, v) -> s.queryVector = v, QUERY_VECTOR);
        NEURAL.declareString((s, v) -> s.model = v, MODEL_ID);
        NEURAL_METHOD.declareInt((m, v) -> m.efSearch = v, EF_SEARCH);
        NEURAL.declareObject(
                (s, m) -> s.efSearch = m.efSearch, (parser, c) -> NEURAL_METHOD.parse(parser, null), METHOD_PARAMETERS);
    }

    private final EmbedKnnQueryBuilder.Services services;
    private final ObjectParser<Spec, Void> shape;
    private final String name;

    private EmbedKnnQueryParser(EmbedKnnQueryBuilder.Services services, ObjectParser<Spec, Void> shape, String name) {
        this.services = services;
        this.shape = shape;
        this.name = name;
    }

    public static EmbedKnnQueryParser embedKnn(EmbedKnnQueryBuilder.Services services) {
        return new EmbedKnnQueryParser(services, EMBED_KNN, EmbedKnnQueryBuilder.NAME);
    }

    public static EmbedKnnQueryParser neural(EmbedKnnQueryBuilder.Services services) {
        return new EmbedKnnQueryParser(services, NEURAL, NEURAL_NAME);
    }

    public EmbedKnnQueryBuilder parse(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT
                && parser.nextToken() != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + name + "] expects an object");
        }
        if (parser.nextToken() != XContentParser.Token.FIELD_NAME) {
            throw new ParsingException(parser.getTokenLocation(), "[" + name + "] expects one field name");
        }
        String field = parser.currentName();
        if (parser.nextToken() != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(
                    parser.getTokenLocation(), "[" + name + "] field [" + field + "] expects an object");
        }
        Spec spec = shape.parse(parser, null);
        if (parser.nextToken() != XContentParser.Token.END_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + name + "] takes exactly one field");
        }
        float[] vector = null;
        if (spec.queryVector != null) {
            if (spec.queryText != null) {
                throw new ParsingException(
                        parser.getTokenLocation(), "[" + name + "] takes [query_text] or [query_vector], not both");
            }
            vector = new float[spec.queryVector.size()];
            for (int i = 0; i < vector.length; i++) {
                vector[i] = spec.queryVector.get(i);
                if (Float.isFinite(vector[i]) == false) {
                    throw new ParsingException(
                            parser.getTokenLocation(),
                            "[" + name + "] [query_vector] has a non-finite value at position [" + i + "]");
                }
            }
            if (vector.length == 0) {
                throw new ParsingException(
                        parser.getTokenLocation(), "[" + name + "] requires a non-empty [query_vector]");
            }
        } else if (spec.queryText == null || spec.queryText.isBlank()) {
            throw new ParsingException(parser.getTokenLocation(), "[" + name + "] requires a non-empty [query_text]");
        }
        String model;
        KnnOptions options;
        try {
            int k = spec.k == null ? KnnOptions.DEFAULT_K : spec.k;
            int candidates = spec.numCandidates != null
                    ? spec.numCandidates
                    : spec.efSearch != null ? Math.max(k, spec.efSearch) : KnnOptions.defaultCandidates(k);
            options = new KnnOptions(
                    k,
                    candidates,
                    spec.minScore == null ? Float.NEGATIVE_INFINITY : spec.minScore,
                    spec.exact,
                    spec.oversample);
            // the name's shape only: whether this node can run the model is the rewrite's question
            model = spec.model == null ? null : ModelName.normalize(spec.model);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), "[" + name + "] " + e.getMessage(), e);
        }
        EmbedKnnQueryBuilder builder =
                new EmbedKnnQueryBuilder(field, spec.queryText, model, options, spec.filter, vector, null, services);
        builder.boost(spec.boost);
        builder.queryName(spec.queryName);
        return builder;
    }
}

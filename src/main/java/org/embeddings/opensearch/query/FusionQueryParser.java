package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import org.embeddings.encoder.Labels;
import org.embeddings.lucene.Normalization;
import org.embeddings.lucene.ScoreFusion;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;

/**
 * Parses {@code {"fusion": {"queries": [...], "method": "rrf" | "linear", "rank_constant": 60, "window_size": 100,
 * "weights": [...], "normalization": "min_max" | "l2" | "z_score", "scope": "global" | "shard"}}}; every malformed
 * option is a 400 naming it.
 *
 * <p>A fusion nested more than {@link FusionQueryBuilder#MAX_DEPTH} deep in another (through any queries between) is
 * a 400 when the innermost one is parsed: parsing is one synchronous descent on one thread, and a thread-local count
 * of the fusions it is inside sees every path, where a walk of the built queries would miss those under queries that
 * do not expose their children.
 */
public final class FusionQueryParser {
    static final ParseField QUERIES = new ParseField("queries");
    static final ParseField METHOD = new ParseField("method");
    static final ParseField RANK_CONSTANT = new ParseField("rank_constant");
    static final ParseField WINDOW_SIZE = new ParseField("window_size");
    static final ParseField WEIGHTS = new ParseField("weights");
    static final ParseField NORMALIZATION = new ParseField("normalization");
    static final ParseField SCOPE = new ParseField("scope");

    private static final class Spec {
        List<QueryBuilder> queries;
        String method = "rrf";
        Integer rankConstant;
        int windowSize = FusionQueryBuilder.DEFAULT_WINDOW;
        List<Float> weights;
        String normalization;
        String scope = "global";
        float boost = AbstractQueryBuilder.DEFAULT_BOOST;
        String queryName;
    }

    private static final ObjectParser<Spec, Void> PARSER = new ObjectParser<>(FusionQueryBuilder.NAME, Spec::new);

    static {
        PARSER.declareObjectArray(
                (s, v) -> s.queries = v, (p, c) -> AbstractQueryBuilder.parseInnerQueryBuilder(p), QUERIES);
        PARSER.declareString((s, v) -> s.method = v, METHOD);
        PARSER.declareInt((s, v) -> s.rankConstant = v, RANK_CONSTANT);
        PARSER.declareInt((s, v) -> s.windowSize = v, WINDOW_SIZE);
        PARSER.declareFloatArray((s, v) -> s.weights = v, WEIGHTS);
        PARSER.declareString((s, v) -> s.normalization = v, NORMALIZATION);
        PARSER.declareString((s, v) -> s.scope = v, SCOPE);
        PARSER.declareFloat((s, v) -> s.boost = v, AbstractQueryBuilder.BOOST_FIELD);
        PARSER.declareString((s, v) -> s.queryName = v, AbstractQueryBuilder.NAME_FIELD);
    }

    /** Fusions being parsed on this thread, outermost first: the depth of the one parsed now. */
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private FusionQueryParser() {}

    public static FusionQueryBuilder parse(XContentParser parser) throws IOException {
        int[] depth = DEPTH.get();
        if (depth[0] >= FusionQueryBuilder.MAX_DEPTH) {
            throw new ParsingException(
                    parser.getTokenLocation(),
                    "[" + FusionQueryBuilder.NAME + "] nests more than " + FusionQueryBuilder.MAX_DEPTH
                            + " deep; a search's rewrite cannot run deeper fusions");
        }
        depth[0]++;
        try {
            return parse(parser, PARSER.parse(parser, null));
        } finally {
            depth[0]--;
        }
    }

    private static FusionQueryBuilder parse(XContentParser parser, Spec s) {
        try {
            if (s.queries == null || s.queries.isEmpty()) {
                throw new IllegalArgumentException("requires a non-empty [queries] array");
            }
            String method = s.method.toLowerCase(Locale.ROOT);
            if (method.equals("rrf") && s.normalization != null) {
                throw new IllegalArgumentException("[normalization] applies to method [linear] only; [rrf] uses ranks");
            }
            if (method.equals("linear") && s.rankConstant != null) {
                throw new IllegalArgumentException(
                        "[rank_constant] applies to method [rrf] only; [linear] uses scores");
            }
            ScoreFusion fusion = switch (method) {
                case "rrf" ->
                    new ScoreFusion.Rrf(
                            s.rankConstant == null ? FusionQueryBuilder.DEFAULT_RANK_CONSTANT : s.rankConstant);
                case "linear" ->
                    new ScoreFusion.Linear(
                            s.normalization == null
                                    ? Normalization.MIN_MAX
                                    : Labels.parse(Normalization.class, "normalization", s.normalization));
                default ->
                    throw new IllegalArgumentException(
                            "unknown [method] [" + s.method + "], expected [rrf] or [linear]");
            };
            FusionQueryBuilder.Scope scope = Labels.parse(FusionQueryBuilder.Scope.class, "scope", s.scope);
            float[] weights = new float[s.weights == null ? s.queries.size() : s.weights.size()];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = s.weights == null ? 1f : s.weights.get(i);
            }
            FusionQueryBuilder builder = new FusionQueryBuilder(s.queries, fusion, s.windowSize, weights, scope);
            builder.boost(s.boost);
            builder.queryName(s.queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            String prefix = "[" + FusionQueryBuilder.NAME + "]";
            String message = e.getMessage().startsWith(prefix) ? e.getMessage() : prefix + " " + e.getMessage();
            throw new ParsingException(parser.getTokenLocation(), message, e);
        }
    }
}

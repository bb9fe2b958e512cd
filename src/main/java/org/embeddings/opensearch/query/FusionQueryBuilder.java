package org.embeddings.opensearch.query;

import org.apache.lucene.search.Query;
import org.embeddings.lucene.FusionQuery;
import org.embeddings.lucene.Normalization;
import org.embeddings.lucene.ScoreFusion;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * {@code fusion}: hybrid search that combines sub-queries (typically a BM25 {@code match} and an {@code embed_knn})
 * by reciprocal rank fusion or by a weighted sum of normalized scores.
 *
 * <p>Sub-queries are rewritten like any query (so an {@code embed_knn} child is encoded on the coordinating node);
 * each shard then runs every sub-query for its top {@code window_size} hits and fuses them ({@link FusionQuery}),
 * and the coordinating node merges the shards' fused hits by score. Fusion is therefore per shard: see the README
 * for how that compares with one shard.
 */
public final class FusionQueryBuilder extends AbstractQueryBuilder<FusionQueryBuilder> {
    public static final String NAME = "fusion";

    public enum Method {
        RRF,
        LINEAR
    }

    /** The fusion parameters, validated together. */
    public record Spec(Method method, int rankConstant, int windowSize, float[] weights, Normalization normalization) {
        public static final int DEFAULT_RANK_CONSTANT = 60;
        public static final int DEFAULT_WINDOW = 100;
        public static final int MAX_WINDOW = 10_000;

        public Spec {
            Objects.requireNonNull(method);
            Objects.requireNonNull(normalization);
            if (rankConstant < 1) {
                throw new IllegalArgumentException("[rank_constant] must be at least 1, got [" + rankConstant + "]");
            }
            if (windowSize < 1 || windowSize > MAX_WINDOW) {
                throw new IllegalArgumentException("[window_size] must be within [1, " + MAX_WINDOW + "], got [" + windowSize + "]");
            }
            for (float w : weights) {
                if (w < 0 || Float.isFinite(w) == false) {
                    throw new IllegalArgumentException("[weights] must be finite and not negative, got " + Arrays.toString(weights));
                }
            }
        }

        ScoreFusion fusion() {
            return method == Method.RRF ? new ScoreFusion.Rrf(rankConstant) : new ScoreFusion.Linear(normalization);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Spec s && method == s.method && rankConstant == s.rankConstant && windowSize == s.windowSize
                && Arrays.equals(weights, s.weights) && normalization == s.normalization;
        }

        @Override
        public int hashCode() {
            return Objects.hash(method, rankConstant, windowSize, Arrays.hashCode(weights), normalization);
        }
    }

    private final List<QueryBuilder> queries;
    private final Spec spec;

    public FusionQueryBuilder(List<QueryBuilder> queries, Spec spec) {
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] needs at least one query in [queries]");
        }
        if (spec.weights().length != queries.size()) {
            throw new IllegalArgumentException(
                "[" + NAME + "] has " + queries.size() + " queries but " + spec.weights().length + " [weights]; give one weight per query"
            );
        }
        this.queries = List.copyOf(queries);
        this.spec = spec;
    }

    public FusionQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.queries = in.readNamedWriteableList(QueryBuilder.class);
        this.spec = new Spec(in.readEnum(Method.class), in.readVInt(), in.readVInt(), in.readFloatArray(), in.readEnum(Normalization.class));
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeNamedWriteableList(queries);
        out.writeEnum(spec.method());
        out.writeVInt(spec.rankConstant());
        out.writeVInt(spec.windowSize());
        out.writeFloatArray(spec.weights());
        out.writeEnum(spec.normalization());
    }

    public List<QueryBuilder> queries() {
        return queries;
    }

    public Spec spec() {
        return spec;
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        List<QueryBuilder> rewritten = new ArrayList<>(queries.size());
        boolean changed = false;
        for (QueryBuilder q : queries) {
            QueryBuilder r = q.rewrite(context);
            changed |= r != q;
            rewritten.add(r);
        }
        if (changed == false) {
            return this;
        }
        FusionQueryBuilder copy = new FusionQueryBuilder(rewritten, spec);
        copy.boost(boost).queryName(queryName);
        return copy;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        List<Query> lucene = new ArrayList<>(queries.size());
        for (QueryBuilder q : queries) {
            lucene.add(q.toQuery(context));
        }
        return new FusionQuery(lucene, spec.weights(), spec.fusion(), spec.windowSize());
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.startArray(FusionQueryParser.QUERIES.getPreferredName());
        for (QueryBuilder q : queries) {
            q.toXContent(builder, params);
        }
        builder.endArray();
        builder.field(FusionQueryParser.METHOD.getPreferredName(), spec.method().name().toLowerCase(java.util.Locale.ROOT));
        builder.field(FusionQueryParser.RANK_CONSTANT.getPreferredName(), spec.rankConstant());
        builder.field(FusionQueryParser.WINDOW_SIZE.getPreferredName(), spec.windowSize());
        builder.array(FusionQueryParser.WEIGHTS.getPreferredName(), spec.weights());
        builder.field(FusionQueryParser.NORMALIZATION.getPreferredName(), spec.normalization().parseName());
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected boolean doEquals(FusionQueryBuilder other) {
        return queries.equals(other.queries) && spec.equals(other.spec);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(queries, spec);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

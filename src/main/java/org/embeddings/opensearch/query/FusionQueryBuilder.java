package org.embeddings.opensearch.query;

import org.apache.lucene.search.Query;
import org.embeddings.lucene.FusionQuery;
import org.embeddings.lucene.Normalization;
import org.embeddings.lucene.ScoreFusion;
import org.apache.lucene.util.SetOnce;
import org.opensearch.action.IndicesRequest;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code fusion}: hybrid search that combines sub-queries (typically a BM25 {@code match} and an {@code embed_knn})
 * by reciprocal rank fusion or by a weighted sum of normalized scores.
 *
 * <p>Sub-queries are rewritten like any query (so an {@code embed_knn} child is encoded on the coordinating node).
 * With {@code scope: global} (the default) the coordinating node then searches each sub-query over all target shards
 * for its top {@code window_size} hits ({@link GlobalFusion}), fuses them, and rewrites itself into the fused ids and
 * scores ({@link FusedIdsQueryBuilder}): the ranking is the same on 1 shard or 30. With {@code scope: shard} each
 * shard runs every sub-query for its own top window and fuses them ({@link FusionQuery}), saving the extra round
 * trip at the price of per-shard ranks and normalization. Where no coordinating context exists (a query built on a
 * shard alone), fusion is per shard.
 */
public final class FusionQueryBuilder extends AbstractQueryBuilder<FusionQueryBuilder> {
    public static final String NAME = "fusion";

    public enum Method {
        RRF,
        LINEAR
    }

    /**
     * Where windows are taken and fused. GLOBAL: the coordinating node runs each sub-query over all shards for its
     * top window, fuses, and sends the shards the fused ids; the result does not depend on sharding. SHARD: each
     * shard fuses its own windows (one round trip, but ranks and normalization bounds are per shard).
     */
    public enum Scope {
        GLOBAL,
        SHARD
    }

    /** The fusion parameters, validated together. */
    public record Spec(Method method, int rankConstant, int windowSize, float[] weights, Normalization normalization, Scope scope) {
        public static final int DEFAULT_RANK_CONSTANT = 60;
        public static final int DEFAULT_WINDOW = 100;
        public static final int MAX_WINDOW = 10_000;

        public Spec {
            Objects.requireNonNull(method);
            Objects.requireNonNull(normalization);
            Objects.requireNonNull(scope);
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
                && Arrays.equals(weights, s.weights) && normalization == s.normalization && scope == s.scope;
        }

        @Override
        public int hashCode() {
            return Objects.hash(method, rankConstant, windowSize, Arrays.hashCode(weights), normalization, scope);
        }
    }

    private final List<QueryBuilder> queries;
    private final Spec spec;
    private final Supplier<Map<String, Map<String, Float>>> pendingFusion;

    public FusionQueryBuilder(List<QueryBuilder> queries, Spec spec) {
        this(queries, spec, null);
    }

    private FusionQueryBuilder(List<QueryBuilder> queries, Spec spec, Supplier<Map<String, Map<String, Float>>> pendingFusion) {
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
        this.pendingFusion = pendingFusion;
    }

    public FusionQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.queries = in.readNamedWriteableList(QueryBuilder.class);
        this.spec = new Spec(
            in.readEnum(Method.class),
            in.readVInt(),
            in.readVInt(),
            in.readFloatArray(),
            in.readEnum(Normalization.class),
            in.readEnum(Scope.class)
        );
        this.pendingFusion = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pendingFusion != null) {
            throw new IllegalStateException("[" + NAME + "] is sent to shards only after its global fusion is done");
        }
        out.writeNamedWriteableList(queries);
        out.writeEnum(spec.method());
        out.writeVInt(spec.rankConstant());
        out.writeVInt(spec.windowSize());
        out.writeFloatArray(spec.weights());
        out.writeEnum(spec.normalization());
        out.writeEnum(spec.scope());
    }

    public List<QueryBuilder> queries() {
        return queries;
    }

    public Spec spec() {
        return spec;
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (pendingFusion != null) {
            Map<String, Map<String, Float>> fused = pendingFusion.get();
            if (fused == null) {
                return this;
            }
            FusedIdsQueryBuilder ids = new FusedIdsQueryBuilder(fused);
            ids.boost(boost).queryName(queryName);
            return ids;
        }
        List<QueryBuilder> rewritten = new ArrayList<>(queries.size());
        boolean changed = false;
        for (QueryBuilder q : queries) {
            QueryBuilder r = q.rewrite(context);
            changed |= r != q;
            rewritten.add(r);
        }
        QueryCoordinatorContext coordinator = context.convertToCoordinatorContext();
        if (changed == false && spec.scope() == Scope.GLOBAL && coordinator != null) {
            // Sub-queries are final (an embed_knn child holds its vector): fuse their windows over all shards.
            SetOnce<Map<String, Map<String, Float>>> fused = new SetOnce<>();
            IndicesRequest target = coordinator.getSearchRequest();
            context.registerAsyncAction((client, listener) -> GlobalFusion.run(client, target, queries, spec, ActionListener.wrap(result -> {
                fused.set(result);
                listener.onResponse(null);
            }, listener::onFailure)));
            FusionQueryBuilder copy = new FusionQueryBuilder(queries, spec, fused::get);
            copy.boost(boost).queryName(queryName);
            return copy;
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
        builder.field(FusionQueryParser.SCOPE.getPreferredName(), spec.scope().name().toLowerCase(java.util.Locale.ROOT));
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected boolean doEquals(FusionQueryBuilder other) {
        return queries.equals(other.queries) && spec.equals(other.spec) && Objects.equals(pendingFusion, other.pendingFusion);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(queries, spec, pendingFusion);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.embeddings.encoder.Labels;
import org.embeddings.lucene.FusionQuery;
import org.embeddings.lucene.Normalization;
import org.embeddings.lucene.ScoreFusion;
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
    public static final int DEFAULT_RANK_CONSTANT = 60;
    public static final int DEFAULT_WINDOW = 100;
    public static final int MAX_WINDOW = 10_000;
    /**
     * Sub-queries of one fusion: global fusion runs one search per sub-query, each for up to {@link #MAX_WINDOW} hits,
     * and this keeps one fusion's windows within 100,000 hits.
     */
    public static final int MAX_QUERIES = 10;
    /**
     * The largest weight: a fused score sums at most {@link #MAX_QUERIES} weighted contributions, each at most about
     * 100 ({@code z_score} over a window of 10,000; RRF and the other normalizations give at most 1), so it stays far
     * inside a float's range whatever the boost.
     */
    public static final float MAX_WEIGHT = 10_000f;
    /**
     * How deep fusions may nest (a fusion among the sub-queries of another, at any depth of other queries between):
     * OpenSearch rewrites a search in at most 16 rounds, each global fusion takes two (its windows, then its fused
     * ids) after its sub-queries are final, and an {@code embed_knn} two more (measured on a real node: seven levels
     * over an {@code embed_knn} answer, eight fail with "too many rewrite rounds"). Five leaves room for two more
     * async rewrites on the path (a terms lookup, another plugin's query). Checked while parsing.
     */
    public static final int MAX_DEPTH = 5;

    /**
     * Where windows are taken and fused. GLOBAL: the coordinating node runs each sub-query over all shards for its
     * top window, fuses, and sends the shards the fused ids; the result does not depend on sharding. SHARD: each
     * shard fuses its own windows (one round trip, but ranks and normalization bounds are per shard).
     */
    public enum Scope {
        GLOBAL,
        SHARD;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final List<QueryBuilder> queries;
    private final ScoreFusion fusion;
    private final int windowSize;
    private final float[] weights;
    private final Scope scope;
    private final Supplier<Map<String, Map<String, Float>>> pendingFusion;

    /**
     * @param fusion how windows combine: {@link ScoreFusion.Rrf} with its rank constant, or {@link ScoreFusion.Linear}
     *               with its normalization
     * @param weights one per query, finite and not negative
     */
    public FusionQueryBuilder(
            List<QueryBuilder> queries, ScoreFusion fusion, int windowSize, float[] weights, Scope scope) {
        this(queries, fusion, windowSize, weights, scope, null);
    }

    private FusionQueryBuilder(
            List<QueryBuilder> queries,
            ScoreFusion fusion,
            int windowSize,
            float[] weights,
            Scope scope,
            Supplier<Map<String, Map<String, Float>>> pendingFusion) {
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] needs at least one query in [queries]");
        }
        if (queries.size() > MAX_QUERIES) {
            throw new IllegalArgumentException("[" + NAME + "] takes at most " + MAX_QUERIES + " [queries], got ["
                    + queries.size() + "]; fuse fewer, or combine some in a [bool] query");
        }
        if (windowSize < 1 || windowSize > MAX_WINDOW) {
            throw new IllegalArgumentException(
                    "[window_size] must be within [1, " + MAX_WINDOW + "], got [" + windowSize + "]");
        }
        if (weights.length != queries.size()) {
            throw new IllegalArgumentException("[" + NAME + "] has " + queries.size() + " queries but " + weights.length
                    + " [weights]; give one weight per query");
        }
        for (float w : weights) {
            if (w < 0 || w > MAX_WEIGHT || Float.isFinite(w) == false) {
                throw new IllegalArgumentException(
                        "[weights] must be within [0, " + (int) MAX_WEIGHT + "], got " + Arrays.toString(weights));
            }
        }
        this.queries = List.copyOf(queries);
        this.fusion = Objects.requireNonNull(fusion);
        this.windowSize = windowSize;
        this.weights = weights.clone();
        this.scope = Objects.requireNonNull(scope);
        this.pendingFusion = pendingFusion;
    }

    public FusionQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.queries = in.readNamedWriteableList(QueryBuilder.class);
        this.fusion = in.readBoolean()
                ? new ScoreFusion.Rrf(in.readVInt())
                : new ScoreFusion.Linear(in.readEnum(Normalization.class));
        this.windowSize = in.readVInt();
        this.weights = in.readFloatArray();
        this.scope = in.readEnum(Scope.class);
        this.pendingFusion = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pendingFusion != null) {
            throw new IllegalStateException("[" + NAME + "] is sent to shards only after its global fusion is done");
        }
        out.writeNamedWriteableList(queries);
        out.writeBoolean(fusion instanceof ScoreFusion.Rrf);
        switch (fusion) {
            case ScoreFusion.Rrf rrf -> out.writeVInt(rrf.rankConstant());
            case ScoreFusion.Linear linear -> out.writeEnum(linear.normalization());
        }
        out.writeVInt(windowSize);
        out.writeFloatArray(weights);
        out.writeEnum(scope);
    }

    public List<QueryBuilder> queries() {
        return queries;
    }

    public ScoreFusion fusion() {
        return fusion;
    }

    public int windowSize() {
        return windowSize;
    }

    public float[] weights() {
        return weights.clone();
    }

    public Scope scope() {
        return scope;
    }

    private FusionQueryBuilder copy(List<QueryBuilder> newQueries, Supplier<Map<String, Map<String, Float>>> pending) {
        FusionQueryBuilder copy = new FusionQueryBuilder(newQueries, fusion, windowSize, weights, scope, pending);
        copy.boost(boost).queryName(queryName);
        return copy;
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (pendingFusion != null) {
            Map<String, Map<String, Float>> fused = pendingFusion.get();
            if (fused == null) {
                return this;
            }
            FusedIdsQueryBuilder ids = new FusedIdsQueryBuilder(fused, queries);
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
        if (changed == false && scope == Scope.GLOBAL && coordinator != null) {
            // Sub-queries are final (an embed_knn child holds its vector): fuse their windows over all shards.
            SetOnce<Map<String, Map<String, Float>>> fused = new SetOnce<>();
            IndicesRequest target = coordinator.getSearchRequest();
            context.registerAsyncAction((client, listener) -> GlobalFusion.run(
                    client,
                    target,
                    queries,
                    fusion,
                    windowSize,
                    weights,
                    ActionListener.wrap(
                            result -> {
                                fused.set(result);
                                listener.onResponse(null);
                            },
                            listener::onFailure)));
            return copy(queries, fused::get);
        }
        return changed ? copy(rewritten, null) : this;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        List<Query> lucene = new ArrayList<>(queries.size());
        for (QueryBuilder q : queries) {
            lucene.add(q.toQuery(context));
        }
        return new FusionQuery(lucene, weights, fusion, windowSize);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.startArray(FusionQueryParser.QUERIES.getPreferredName());
        for (QueryBuilder q : queries) {
            q.toXContent(builder, params);
        }
        builder.endArray();
        switch (fusion) {
            case ScoreFusion.Rrf rrf -> {
                builder.field(FusionQueryParser.METHOD.getPreferredName(), "rrf");
                builder.field(FusionQueryParser.RANK_CONSTANT.getPreferredName(), rrf.rankConstant());
            }
            case ScoreFusion.Linear linear -> {
                builder.field(FusionQueryParser.METHOD.getPreferredName(), "linear");
                builder.field(FusionQueryParser.NORMALIZATION.getPreferredName(), Labels.of(linear.normalization()));
            }
        }
        builder.field(FusionQueryParser.WINDOW_SIZE.getPreferredName(), windowSize);
        builder.array(FusionQueryParser.WEIGHTS.getPreferredName(), weights);
        builder.field(FusionQueryParser.SCOPE.getPreferredName(), scope.label());
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected boolean doEquals(FusionQueryBuilder other) {
        return queries.equals(other.queries)
                && fusion.equals(other.fusion)
                && windowSize == other.windowSize
                && Arrays.equals(weights, other.weights)
                && scope == other.scope
                && Objects.equals(pendingFusion, other.pendingFusion);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(queries, fusion, windowSize, Arrays.hashCode(weights), scope, pendingFusion);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

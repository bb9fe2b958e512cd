package org.embeddings.lucene;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;

/**
 * Hybrid search over one index reader: runs each sub-query for its top {@code windowSize} documents, fuses the
 * windows with a {@link ScoreFusion} and matches exactly the fused documents with their fused scores.
 *
 * <p>All the work happens in {@link #rewrite}, on the caller's searcher: the rewritten query is a fixed set of scored
 * documents ({@link ScoredDocsQuery}), so it composes with everything that takes a query (boolean clauses, filters,
 * aggregations, pagination, counting). In
 * OpenSearch each shard has its own reader, so fusion is per shard: ranks and normalization bounds are those of
 * the shard's windows, and the coordinating node merges shards by fused score.
 */
public final class FusionQuery extends Query {
    private final List<Query> queries;
    private final float[] weights;
    private final ScoreFusion fusion;
    private final int windowSize;

    public FusionQuery(List<Query> queries, float[] weights, ScoreFusion fusion, int windowSize) {
        if (queries.isEmpty() || weights.length != queries.size()) {
            throw new IllegalArgumentException(
                    "need one weight per sub-query, got " + weights.length + " for " + queries.size());
        }
        this.queries = List.copyOf(queries);
        this.weights = weights.clone();
        this.fusion = Objects.requireNonNull(fusion);
        this.windowSize = windowSize;
    }

    /**
     * Runs each sub-query for its window on the caller's own searcher, so that a shard's windows share its executor
     * (concurrent segment search), its timeout and its cancellation checks, its similarity and its query cache.
     */
    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        TopDocs[] windows = new TopDocs[queries.size()];
        for (int i = 0; i < windows.length; i++) {
            windows[i] = searcher.search(queries.get(i), windowSize);
        }
        ScoreDoc[] fused = ScoreFusion.fuse(fusion, windows, weights);
        return new ScoredDocsQuery(fused, searcher.getIndexReader(), "fusion " + fusion);
    }

    @Override
    public void visit(QueryVisitor visitor) {
        QueryVisitor sub = visitor.getSubVisitor(BooleanClause.Occur.SHOULD, this);
        queries.forEach(q -> q.visit(sub));
    }

    @Override
    public String toString(String field) {
        StringBuilder b =
                new StringBuilder("fusion(").append(fusion).append(", window=").append(windowSize);
        for (int i = 0; i < queries.size(); i++) {
            b.append(", ").append(weights[i]).append('*').append(queries.get(i).toString(field));
        }
        return b.append(')').toString();
    }

    @Override
    public boolean equals(Object other) {
        if (sameClassAs(other) == false) {
            return false;
        }
        FusionQuery o = (FusionQuery) other;
        return queries.equals(o.queries)
                && Arrays.equals(weights, o.weights)
                && fusion.equals(o.fusion)
                && windowSize == o.windowSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), queries, Arrays.hashCode(weights), fusion, windowSize);
    }
}

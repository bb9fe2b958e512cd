package org.embeddings.lucene;

import java.io.IOException;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.AcceptDocs;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.knn.KnnCollectorManager;

/**
 * Lucene's HNSW search with the options users of OpenSearch expect: explore {@code numCandidates} neighbours per
 * segment (Lucene's own {@code k}), keep the best {@code k} over the reader, and drop hits scoring below
 * {@code minScore}. {@code exact} replaces the graph walk by a scan of every document the filter accepts; it is
 * the ground truth that approximate search is measured against.
 *
 * <p>Two hooks are overridden: {@link #mergeLeafResults} (cut to k and min_score after Lucene's merge) and
 * {@link #approximateSearch} (only when exact).
 */
public final class EmbeddingKnnQuery extends KnnFloatVectorQuery {
    private final int resultK;
    private final float minScore;
    private final boolean exact;

    public EmbeddingKnnQuery(
            String field, float[] target, int k, int numCandidates, Query filter, float minScore, boolean exact) {
        super(field, target, Math.max(k, numCandidates), filter);
        this.resultK = k;
        this.minScore = minScore;
        this.exact = exact;
    }

    @Override
    protected TopDocs approximateSearch(
            LeafReaderContext context, AcceptDocs acceptDocs, int visitedLimit, KnnCollectorManager manager)
            throws IOException {
        if (exact) {
            return exactSearch(context, acceptDocs.iterator(), null);
        }
        return super.approximateSearch(context, acceptDocs, visitedLimit, manager);
    }

    @Override
    protected TopDocs mergeLeafResults(TopDocs[] perLeafResults) {
        return KnnResults.cut(super.mergeLeafResults(perLeafResults), resultK, minScore);
    }

    @Override
    public String toString(String field) {
        return super.toString(field) + "[k=" + resultK + ", min_score=" + minScore + (exact ? ", exact" : "") + "]";
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o)
                && resultK == ((EmbeddingKnnQuery) o).resultK
                && minScore == ((EmbeddingKnnQuery) o).minScore
                && exact == ((EmbeddingKnnQuery) o).exact;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), resultK, minScore, exact);
    }
}

package org.embeddings.lucene;

import java.io.IOException;
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
    private final KnnSettings settings;

    public EmbeddingKnnQuery(
            String field, float[] target, int k, int numCandidates, Query filter, float minScore, boolean exact) {
        super(field, target, Math.max(k, numCandidates), filter);
        this.settings = new KnnSettings(k, minScore, exact);
    }

    @Override
    protected TopDocs approximateSearch(
            LeafReaderContext context, AcceptDocs acceptDocs, int visitedLimit, KnnCollectorManager manager)
            throws IOException {
        if (settings.exact()) {
            return exactSearch(context, acceptDocs.iterator(), null);
        }
        return super.approximateSearch(context, acceptDocs, visitedLimit, manager);
    }

    @Override
    protected TopDocs mergeLeafResults(TopDocs[] perLeafResults) {
        return settings.cut(super.mergeLeafResults(perLeafResults));
    }

    @Override
    public String toString(String field) {
        return super.toString(field) + settings;
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && settings.equals(((EmbeddingKnnQuery) o).settings);
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + settings.hashCode();
    }
}

package org.embeddings.lucene;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.search.AcceptDocs;
import org.apache.lucene.search.ConjunctionUtils;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.DiversifyingChildrenFloatKnnVectorQuery;
import org.apache.lucene.search.knn.KnnCollectorManager;

/**
 * {@link EmbeddingKnnQuery} over child documents (passages in a block join), diversified by parent: Lucene's
 * {@link DiversifyingChildrenFloatKnnVectorQuery} keeps only the best child of each parent while it searches, so
 * {@code numCandidates} counts parents explored per segment and {@code k} the parents kept over the reader, each
 * represented by its best-scoring child. The filter selects children (callers join a parent filter down to them).
 * {@code minScore} drops children scoring below it; {@code exact} replaces the graph walk by Lucene's diversified
 * exact scan.
 *
 * <p>The same two hooks as {@link EmbeddingKnnQuery}: {@link #mergeLeafResults} (cut to k and min_score after
 * Lucene's merge) and {@link #approximateSearch} (only when exact); and a third, {@link #exactSearch}, because
 * Lucene's diversified scan reads a vector for every document its iterator gives, while the documents a search
 * accepts include the parents, which have none: the iterator is narrowed to documents with a vector.
 */
public final class NestedEmbeddingKnnQuery extends DiversifyingChildrenFloatKnnVectorQuery {
    private final KnnSettings settings;

    public NestedEmbeddingKnnQuery(
            String field,
            float[] target,
            int k,
            int numCandidates,
            Query childFilter,
            BitSetProducer parents,
            float minScore,
            boolean exact) {
        super(field, target, childFilter, Math.max(k, numCandidates), parents);
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
    protected TopDocs exactSearch(LeafReaderContext context, DocIdSetIterator acceptIterator, QueryTimeout timeout)
            throws IOException {
        FloatVectorValues vectors = context.reader().getFloatVectorValues(getField());
        if (vectors == null) {
            return super.exactSearch(context, acceptIterator, timeout);
        }
        return super.exactSearch(
                context, ConjunctionUtils.intersectIterators(List.of(acceptIterator, vectors.iterator())), timeout);
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
        return super.equals(o) && settings.equals(((NestedEmbeddingKnnQuery) o).settings);
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + settings.hashCode();
    }
}

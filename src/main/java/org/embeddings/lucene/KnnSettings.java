package org.embeddings.lucene;

import java.util.Arrays;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TotalHits;

/**
 * What every {@code embed_knn} query adds to Lucene's kNN search, kept in one place for both the flat and the nested
 * query: the best {@code k} of the merged per-segment results, then only those scoring at least {@code minScore}, and
 * {@code exact}, a scan of every accepted document instead of the graph walk. Two queries with equal settings (and equal
 * Lucene parts) are equal; the settings print as the suffix of the query's {@code toString}.
 *
 * @param k how many hits the query keeps over the reader (Lucene's own {@code k} is the number of candidates)
 * @param minScore the lowest score kept; {@link Float#NEGATIVE_INFINITY} keeps all
 * @param exact whether each segment is scanned instead of searched through its graph
 */
record KnnSettings(int k, float minScore, boolean exact) {
    /** The merged hits are sorted by score, so the cut is a prefix. */
    TopDocs cut(TopDocs merged) {
        ScoreDoc[] kept = merged.scoreDocs;
        int n = Math.min(kept.length, k);
        while (n > 0 && kept[n - 1].score < minScore) {
            n--;
        }
        return n == kept.length
                ? merged
                : new TopDocs(new TotalHits(n, TotalHits.Relation.EQUAL_TO), Arrays.copyOf(kept, n));
    }

    @Override
    public String toString() {
        return "[k=" + k + ", min_score=" + minScore + (exact ? ", exact" : "") + "]";
    }
}

package org.embeddings.lucene;

import java.util.Arrays;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TotalHits;

/**
 * The cut every {@code embed_knn} query applies to its merged per-segment results: the best {@code k}, then only
 * those scoring at least {@code min_score}. The merged hits are sorted by score, so the cut is a prefix.
 */
final class KnnResults {
    private KnnResults() {}

    static TopDocs cut(TopDocs merged, int k, float minScore) {
        ScoreDoc[] kept = merged.scoreDocs;
        int n = Math.min(kept.length, k);
        while (n > 0 && kept[n - 1].score < minScore) {
            n--;
        }
        return n == kept.length
                ? merged
                : new TopDocs(new TotalHits(n, TotalHits.Relation.EQUAL_TO), Arrays.copyOf(kept, n));
    }
}

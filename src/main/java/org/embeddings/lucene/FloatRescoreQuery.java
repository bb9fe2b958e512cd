package org.embeddings.lucene;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.DoubleValues;
import org.apache.lucene.search.FullPrecisionFloatVectorSimilarityValuesSource;
import org.apache.lucene.search.HitQueue;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * Rescores the documents a candidate query matches with the full-precision float32 vectors of {@code field}
 * (Lucene keeps them beside a quantized copy; {@code FloatVectorValues#rescorer} reads them), and keeps the best
 * {@code k} whose exact score reaches {@code minScore}.
 *
 * <p>Laid out like Lucene's {@code RescoreTopNQuery}: all the work happens in {@link #rewrite}, on the caller's
 * searcher, which runs the candidates (typically an approximate kNN query over the quantized vectors for
 * {@code k x oversample} hits) without scores and returns a fixed set of scored documents. The scores are the
 * field's similarity over float vectors, exactly what a float32 field would give: rescoring changes the ranking
 * among the candidates, never the candidates themselves.
 */
public final class FloatRescoreQuery extends Query {
    private final Query candidates;
    private final String field;
    private final float[] target;
    private final int k;
    private final float minScore;

    public FloatRescoreQuery(Query candidates, String field, float[] target, int k, float minScore) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        this.candidates = Objects.requireNonNull(candidates);
        this.field = Objects.requireNonNull(field);
        this.target = target.clone();
        this.k = k;
        this.minScore = minScore;
    }

    public Query candidates() {
        return candidates;
    }

    /** The vector field rescored. */
    public String field() {
        return field;
    }

    /** A copy of the query vector. */
    public float[] target() {
        return target.clone();
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        IndexReader reader = searcher.getIndexReader();
        Weight weight = searcher.createWeight(searcher.rewrite(candidates), ScoreMode.COMPLETE_NO_SCORES, 1f);
        FullPrecisionFloatVectorSimilarityValuesSource exact =
                new FullPrecisionFloatVectorSimilarityValuesSource(target, field);
        HitQueue queue = new HitQueue(k, false);
        for (LeafReaderContext leaf : reader.leaves()) {
            Scorer scorer = weight.scorer(leaf);
            if (scorer == null) {
                continue;
            }
            DoubleValues scores = exact.getValues(leaf, null);
            DocIdSetIterator docs = scorer.iterator();
            for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
                if (scores.advanceExact(doc)) {
                    float score = (float) scores.doubleValue();
                    if (score >= minScore) {
                        queue.insertWithOverflow(new ScoreDoc(leaf.docBase + doc, score));
                    }
                }
            }
        }
        ScoreDoc[] hits = new ScoreDoc[queue.size()];
        for (int i = hits.length - 1; i >= 0; i--) {
            hits[i] = queue.pop();
        }
        return new ScoredDocsQuery(hits, reader, "float32 rescore of " + field);
    }

    @Override
    public void visit(QueryVisitor visitor) {
        candidates.visit(visitor.getSubVisitor(BooleanClause.Occur.MUST, this));
    }

    @Override
    public String toString(String f) {
        return "FloatRescore(" + candidates.toString(f) + ")[k=" + k
                + (minScore == Float.NEGATIVE_INFINITY ? "" : ", min_score=" + minScore) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return sameClassAs(o)
                && candidates.equals(((FloatRescoreQuery) o).candidates)
                && field.equals(((FloatRescoreQuery) o).field)
                && Arrays.equals(target, ((FloatRescoreQuery) o).target)
                && k == ((FloatRescoreQuery) o).k
                && Float.compare(minScore, ((FloatRescoreQuery) o).minScore) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), candidates, field, Arrays.hashCode(target), k, minScore);
    }
}

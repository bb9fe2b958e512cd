package org.embeddings.lucene;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.QueryTimeout;
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
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.util.BitSet;

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
 *
 * <p>With {@code parents} (passages in a block join), the candidates are child documents and a parent is kept once,
 * by its best-scoring candidate child, so that {@code k} counts parents, as in {@link NestedEmbeddingKnnQuery}. A
 * block never spans two segments, so each segment keeps its own best child per parent.
 *
 * <p>Segments are rescored as tasks of the searcher's executor, and each stops early (keeping what it scored) once
 * the searcher's timeout says so.
 */
public final class FloatRescoreQuery extends Query {
    private final Query candidates;
    private final String field;
    private final float[] target;
    private final int k;
    private final float minScore;
    private final BitSetProducer parents;

    public FloatRescoreQuery(Query candidates, String field, float[] target, int k, float minScore) {
        this(candidates, field, target, k, minScore, null);
    }

    /** @param parents the parent documents of a block join, to keep each parent once; null for flat documents */
    public FloatRescoreQuery(
            Query candidates, String field, float[] target, int k, float minScore, BitSetProducer parents) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        this.candidates = Objects.requireNonNull(candidates);
        this.field = Objects.requireNonNull(field);
        this.target = target.clone();
        this.k = k;
        this.minScore = minScore;
        this.parents = parents;
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
        QueryTimeout timeout = searcher.getTimeout();
        List<Callable<List<ScoreDoc>>> tasks = new ArrayList<>();
        for (LeafReaderContext leaf : reader.leaves()) {
            tasks.add(() -> rescore(weight, leaf, timeout));
        }
        HitQueue queue = new HitQueue(k, false);
        for (List<ScoreDoc> hits : searcher.getTaskExecutor().invokeAll(tasks)) {
            hits.forEach(queue::insertWithOverflow);
        }
        ScoreDoc[] hits = new ScoreDoc[queue.size()];
        for (int i = hits.length - 1; i >= 0; i--) {
            hits[i] = queue.pop();
        }
        return new ScoredDocsQuery(hits, reader, "float32 rescore of " + field);
    }

    /** One segment's candidates scored with float32 vectors: its best {@code k}, by parent when there are parents. */
    private List<ScoreDoc> rescore(Weight weight, LeafReaderContext leaf, QueryTimeout timeout) throws IOException {
        Scorer scorer = weight.scorer(leaf);
        if (scorer == null) {
            return List.of();
        }
        DoubleValues scores = new FullPrecisionFloatVectorSimilarityValuesSource(target, field).getValues(leaf, null);
        BitSet parentBits = parents == null ? null : parents.getBitSet(leaf);
        Map<Integer, ScoreDoc> bestByParent = parentBits == null ? null : new HashMap<>();
        HitQueue queue = new HitQueue(k, false);
        DocIdSetIterator docs = scorer.iterator();
        int seen = 0;
        for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
            if (++seen % 1024 == 0 && timeout != null && timeout.shouldExit()) {
                break;
            }
            if (scores.advanceExact(doc) == false) {
                continue;
            }
            float score = (float) scores.doubleValue();
            if (score < minScore) {
                continue;
            }
            ScoreDoc hit = new ScoreDoc(leaf.docBase + doc, score);
            if (bestByParent == null) {
                queue.insertWithOverflow(hit);
            } else {
                bestByParent.merge(parentBits.nextSetBit(doc), hit, (a, b) -> a.score >= b.score ? a : b);
            }
        }
        if (bestByParent != null) {
            bestByParent.values().forEach(queue::insertWithOverflow);
        }
        List<ScoreDoc> kept = new ArrayList<>(queue.size());
        while (queue.size() > 0) {
            kept.add(queue.pop());
        }
        return kept;
    }

    @Override
    public void visit(QueryVisitor visitor) {
        candidates.visit(visitor.getSubVisitor(BooleanClause.Occur.MUST, this));
    }

    @Override
    public String toString(String f) {
        return "FloatRescore(" + candidates.toString(f) + ")[k=" + k
                + (minScore == Float.NEGATIVE_INFINITY ? "" : ", min_score=" + minScore)
                + (parents == null ? "" : ", by parent") + "]";
    }

    @Override
    public boolean equals(Object o) {
        return sameClassAs(o)
                && candidates.equals(((FloatRescoreQuery) o).candidates)
                && field.equals(((FloatRescoreQuery) o).field)
                && Arrays.equals(target, ((FloatRescoreQuery) o).target)
                && k == ((FloatRescoreQuery) o).k
                && Float.compare(minScore, ((FloatRescoreQuery) o).minScore) == 0
                && Objects.equals(parents, ((FloatRescoreQuery) o).parents);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), candidates, field, Arrays.hashCode(target), k, minScore, parents);
    }
}

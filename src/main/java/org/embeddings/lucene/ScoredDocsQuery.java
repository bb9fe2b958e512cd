package org.embeddings.lucene;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.Weight;

/**
 * Matches a fixed set of documents of one reader, each with a precomputed score: the result of a query already run in
 * {@link Query#rewrite} ({@link FusionQuery}, {@link ScoredIdsQuery}). Laid out like Lucene's own {@code
 * DocAndScoreQuery}: documents sorted by global id with their scores, and {@code segmentStarts[ord]} the first of
 * them in leaf {@code ord}, so that each leaf's slice is found in constant time, its {@link Weight#count} is exact,
 * and its scorer knows the maximum score. The set was taken from live documents, so it stays exact for the reader it
 * was computed on; the query refuses any other reader, and is cacheable on its own.
 */
final class ScoredDocsQuery extends Query {
    private final int[] docs;
    private final float[] scores;
    private final int[] segmentStarts;
    private final float maxScore;
    private final Object contextIdentity;
    private final String description;

    ScoredDocsQuery(ScoreDoc[] hits, IndexReader reader, String description) {
        ScoreDoc[] byDoc = hits.clone();
        Arrays.sort(byDoc, (a, b) -> Integer.compare(a.doc, b.doc));
        this.docs = new int[byDoc.length];
        this.scores = new float[byDoc.length];
        float max = 0;
        for (int i = 0; i < byDoc.length; i++) {
            docs[i] = byDoc[i].doc;
            scores[i] = byDoc[i].score;
            max = Math.max(max, scores[i]);
        }
        this.maxScore = max;
        this.segmentStarts = segmentStarts(reader.leaves(), docs);
        this.contextIdentity = reader.getContext().id();
        this.description = description;
    }

    /** {@code starts[ord]}: the index in {@code docs} of the first document of leaf {@code ord}; one more entry at the end. */
    private static int[] segmentStarts(List<LeafReaderContext> leaves, int[] docs) {
        int[] starts = new int[leaves.size() + 1];
        starts[leaves.size()] = docs.length;
        for (int ord = leaves.size() - 1; ord >= 0; ord--) {
            int i = Arrays.binarySearch(docs, 0, starts[ord + 1], leaves.get(ord).docBase);
            starts[ord] = i < 0 ? -i - 1 : i;
        }
        return starts;
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
        if (searcher.getIndexReader().getContext().id() != contextIdentity) {
            throw new IllegalStateException("this query was computed on another reader");
        }
        return new Weight(this) {
            @Override
            public Explanation explain(LeafReaderContext context, int doc) {
                int i = Arrays.binarySearch(
                        docs, segmentStarts[context.ord], segmentStarts[context.ord + 1], context.docBase + doc);
                return i < 0
                        ? Explanation.noMatch("not among the scored documents")
                        : Explanation.match(scores[i] * boost, description);
            }

            @Override
            public int count(LeafReaderContext context) {
                return segmentStarts[context.ord + 1] - segmentStarts[context.ord];
            }

            @Override
            public ScorerSupplier scorerSupplier(LeafReaderContext context) {
                int from = segmentStarts[context.ord];
                int to = segmentStarts[context.ord + 1];
                return from == to ? null : new DefaultScorerSupplier(new SliceScorer(context.docBase, from, to, boost));
            }

            @Override
            public boolean isCacheable(LeafReaderContext context) {
                return true;
            }
        };
    }

    /** Iterates {@code docs[from, to)}, the documents of one leaf. */
    private final class SliceScorer extends Scorer {
        private final int docBase;
        private final int from;
        private final int to;
        private final float boost;
        private int index;

        SliceScorer(int docBase, int from, int to, float boost) {
            this.docBase = docBase;
            this.from = from;
            this.to = to;
            this.boost = boost;
            this.index = from - 1;
        }

        @Override
        public int docID() {
            return index < from ? -1 : index >= to ? DocIdSetIterator.NO_MORE_DOCS : docs[index] - docBase;
        }

        @Override
        public float score() {
            return scores[index] * boost;
        }

        @Override
        public float getMaxScore(int upTo) {
            return maxScore * boost;
        }

        @Override
        public DocIdSetIterator iterator() {
            return new DocIdSetIterator() {
                @Override
                public int docID() {
                    return SliceScorer.this.docID();
                }

                @Override
                public int nextDoc() {
                    index = Math.min(index + 1, to);
                    return docID();
                }

                @Override
                public int advance(int target) {
                    // target may be NO_MORE_DOCS: adding docBase would overflow an int
                    long absolute = (long) target + docBase;
                    if (absolute > docs[to - 1]) {
                        index = to;
                        return NO_MORE_DOCS;
                    }
                    int i = Arrays.binarySearch(docs, Math.max(index, from), to, (int) absolute);
                    index = i < 0 ? -i - 1 : i;
                    return docID();
                }

                @Override
                public long cost() {
                    return to - from;
                }
            };
        }
    }

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
    }

    @Override
    public String toString(String field) {
        return description + "[" + docs.length + " docs]";
    }

    @Override
    public boolean equals(Object other) {
        return sameClassAs(other)
                && contextIdentity == ((ScoredDocsQuery) other).contextIdentity
                && Arrays.equals(docs, ((ScoredDocsQuery) other).docs)
                && Arrays.equals(scores, ((ScoredDocsQuery) other).scores);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), contextIdentity, Arrays.hashCode(docs), Arrays.hashCode(scores));
    }
}

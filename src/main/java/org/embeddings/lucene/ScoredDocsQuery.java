package org.embeddings.lucene;

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

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * Matches a fixed set of documents of one reader, each with a precomputed score: the result of a query that has
 * already been run in {@link Query#rewrite}. Documents are kept sorted by id, so each segment's slice is found by
 * binary search and iterated in order. The query is bound to the reader it was computed on and refuses any other.
 */
final class ScoredDocsQuery extends Query {
    private final int[] docs;
    private final float[] scores;
    private final Object readerId;
    private final String description;

    ScoredDocsQuery(ScoreDoc[] hits, IndexReader reader, String description) {
        ScoreDoc[] byDoc = hits.clone();
        Arrays.sort(byDoc, (a, b) -> Integer.compare(a.doc, b.doc));
        this.docs = new int[byDoc.length];
        this.scores = new float[byDoc.length];
        for (int i = 0; i < byDoc.length; i++) {
            docs[i] = byDoc[i].doc;
            scores[i] = byDoc[i].score;
        }
        this.readerId = reader.getContext().id();
        this.description = description;
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
        if (searcher.getIndexReader().getContext().id() != readerId) {
            throw new IllegalStateException("fused documents were computed on another reader");
        }
        return new Weight(this) {
            @Override
            public Explanation explain(LeafReaderContext context, int doc) {
                int i = Arrays.binarySearch(docs, context.docBase + doc);
                return i < 0
                    ? Explanation.noMatch("not in the fused window")
                    : Explanation.match(scores[i] * boost, description + ", boost " + boost);
            }

            @Override
            public ScorerSupplier scorerSupplier(LeafReaderContext context) {
                int from = lowerBound(context.docBase);
                int to = lowerBound(context.docBase + context.reader().maxDoc());
                if (from == to) {
                    return null;
                }
                return new DefaultScorerSupplier(new SliceScorer(context.docBase, from, to, boost));
            }

            @Override
            public int count(LeafReaderContext context) {
                return context.reader().hasDeletions() ? -1 : lowerBound(context.docBase + context.reader().maxDoc()) - lowerBound(context.docBase);
            }

            @Override
            public boolean isCacheable(LeafReaderContext ctx) {
                return false;
            }
        };
    }

    private int lowerBound(int doc) {
        int i = Arrays.binarySearch(docs, doc);
        return i < 0 ? -i - 1 : i;
    }

    /** Iterates docs[from, to) of one segment. */
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
            float max = 0;
            for (int i = Math.max(index, from); i < to && docs[i] - docBase <= upTo; i++) {
                max = Math.max(max, scores[i]);
            }
            return max * boost;
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
                    // target may be NO_MORE_DOCS: adding docBase would overflow
                    long absolute = (long) target + docBase;
                    if (absolute > docs[to - 1]) {
                        index = to;
                        return DocIdSetIterator.NO_MORE_DOCS;
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
            && readerId == ((ScoredDocsQuery) other).readerId
            && Arrays.equals(docs, ((ScoredDocsQuery) other).docs)
            && Arrays.equals(scores, ((ScoredDocsQuery) other).scores);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), readerId, Arrays.hashCode(docs), Arrays.hashCode(scores));
    }
}

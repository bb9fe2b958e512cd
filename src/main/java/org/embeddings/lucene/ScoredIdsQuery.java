package org.embeddings.lucene;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;

/**
 * Matches the live documents whose unique id term (in {@code idField}) is one of the given ids, each with the score
 * given for its id: the shard-side half of a fusion computed elsewhere (over all shards) and sent to the shards as
 * ids. Ids are resolved to doc ids once, in {@link #rewrite}, by seeking the id terms in each segment.
 *
 * <p>It may carry the queries it was fused from: they neither match nor score, but a {@link QueryVisitor} sees them
 * (as SHOULD clauses), so that what reads a query's terms or vectors (highlighters) reads them as in the user's query.
 * They play no part in equality: the query matches the same documents whatever they are.
 */
public final class ScoredIdsQuery extends Query {
    private final String idField;
    private final Map<BytesRef, Float> scores;
    private final List<Query> sources;

    public ScoredIdsQuery(String idField, Map<BytesRef, Float> scores) {
        this(idField, scores, List.of());
    }

    /** @param sources the queries these ids and scores were fused from, for visitors only */
    public ScoredIdsQuery(String idField, Map<BytesRef, Float> scores, List<Query> sources) {
        this.idField = idField;
        this.scores = Map.copyOf(scores);
        this.sources = List.copyOf(sources);
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        List<ScoreDoc> hits = new ArrayList<>();
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            Terms terms = leaf.reader().terms(idField);
            if (terms == null) {
                continue;
            }
            TermsEnum te = terms.iterator();
            Bits live = leaf.reader().getLiveDocs();
            PostingsEnum postings = null;
            for (Map.Entry<BytesRef, Float> e : scores.entrySet()) {
                if (te.seekExact(e.getKey()) == false) {
                    continue;
                }
                postings = te.postings(postings, PostingsEnum.NONE);
                for (int doc = postings.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = postings.nextDoc()) {
                    if (live == null || live.get(doc)) {
                        hits.add(new ScoreDoc(leaf.docBase + doc, e.getValue()));
                    }
                }
            }
        }
        return new ScoredDocsQuery(hits.toArray(ScoreDoc[]::new), searcher.getIndexReader(), "fused score");
    }

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
        if (sources.isEmpty() == false) {
            QueryVisitor sub = visitor.getSubVisitor(BooleanClause.Occur.SHOULD, this);
            sources.forEach(q -> q.visit(sub));
        }
    }

    @Override
    public String toString(String field) {
        return "scored_ids(" + scores.size() + " ids)";
    }

    @Override
    public boolean equals(Object other) {
        return sameClassAs(other)
                && idField.equals(((ScoredIdsQuery) other).idField)
                && scores.equals(((ScoredIdsQuery) other).scores);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), idField, scores);
    }
}

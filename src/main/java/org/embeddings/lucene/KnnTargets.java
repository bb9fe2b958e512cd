package org.embeddings.lucene;

import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;

/**
 * The vector fields a query searches and the query vector of each, found by visiting the query tree (so through
 * boolean clauses, block joins such as a {@code nested} query, fusion and the queries a fused-ids query was fused
 * from): every {@link KnnFloatVectorQuery} (plain or diversified by parent) and every {@link FloatRescoreQuery}.
 * In visiting order; a field searched twice is listed twice.
 */
public final class KnnTargets {
    /** One vector search: its field and query vector. */
    public record Target(String field, float[] vector) {}

    private KnnTargets() {}

    public static List<Target> of(Query query) {
        List<Target> out = new ArrayList<>();
        query.visit(new QueryVisitor() {
            @Override
            public QueryVisitor getSubVisitor(BooleanClause.Occur occur, Query parent) {
                if (parent instanceof FloatRescoreQuery rescore) {
                    out.add(new Target(rescore.field(), rescore.target()));
                    return QueryVisitor.EMPTY_VISITOR; // its candidates search the same field with the same vector
                }
                return occur == BooleanClause.Occur.MUST_NOT ? QueryVisitor.EMPTY_VISITOR : this;
            }

            @Override
            public void visitLeaf(Query leaf) {
                if (leaf instanceof KnnFloatVectorQuery knn) {
                    out.add(new Target(knn.getField(), knn.getTargetCopy()));
                }
            }
        });
        return out;
    }
}

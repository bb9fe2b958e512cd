package org.embeddings.lucene;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.join.QueryBitSetProducer;
import org.apache.lucene.util.BytesRef;
import org.junit.Test;

/**
 * {@link KnnTargets} finds every vector search of a query tree with its field and query vector: through boolean
 * clauses (not MUST_NOT ones), fusion, a rescored quantized search (once, not again for its candidates), and the
 * sources a fused-ids query carries; a fused-ids query without sources and a plain term query have none.
 */
public class KnnTargetsTest {
    private static final float[] A = {1f, 0f, 0f}, B = {0f, 1f, 0f}, C = {0f, 0f, 1f};

    private static Query knn(String field, float[] vector) {
        return new EmbeddingKnnQuery(field, vector, 5, 10, null, Float.NEGATIVE_INFINITY, false);
    }

    private static void assertTargets(Query query, Object... fieldsAndVectors) {
        List<KnnTargets.Target> targets = KnnTargets.of(query);
        assertEquals(targets.toString(), fieldsAndVectors.length / 2, targets.size());
        for (int i = 0; i < targets.size(); i++) {
            assertEquals(fieldsAndVectors[2 * i], targets.get(i).field());
            assertArrayEquals(
                    (float[]) fieldsAndVectors[2 * i + 1], targets.get(i).vector(), 0f);
        }
    }

    @Test
    public void findsEveryVectorSearchWithItsVector() {
        Query nested = new NestedEmbeddingKnnQuery(
                "passages.vec",
                B,
                5,
                10,
                null,
                new QueryBitSetProducer(new TermQuery(new Term("type", "parent"))),
                Float.NEGATIVE_INFINITY,
                false);
        Query bool = new BooleanQuery.Builder()
                .add(new TermQuery(new Term("body", "lava")), BooleanClause.Occur.SHOULD)
                .add(knn("vec", A), BooleanClause.Occur.MUST)
                .add(knn("excluded", C), BooleanClause.Occur.MUST_NOT)
                .build();
        assertTargets(bool, "vec", A);
        Query fusion = new FusionQuery(
                List.of(new TermQuery(new Term("body", "lava")), nested),
                new float[] {1f, 1f},
                new ScoreFusion.Rrf(60),
                10);
        assertTargets(fusion, "passages.vec", B);
        Query rescored = new FloatRescoreQuery(knn("q", C), "q", C, 3, Float.NEGATIVE_INFINITY);
        assertTargets(rescored, "q", C);
        assertTargets(new FloatRescoreQuery(new FieldExistsQuery("q"), "q", A, 3, 0f), "q", A);
        Map<BytesRef, Float> ids = Map.of(new BytesRef("1"), 1f);
        assertTargets(new ScoredIdsQuery("_id", ids, List.of(bool, fusion)), "vec", A, "passages.vec", B);
        assertTargets(new ScoredIdsQuery("_id", ids));
        assertTargets(new TermQuery(new Term("body", "lava")));
    }
}

package org.embeddings.lucene;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.QueryBitSetProducer;
import org.apache.lucene.search.join.ScoreMode;
import org.apache.lucene.search.join.ToChildBlockJoinQuery;
import org.apache.lucene.search.join.ToParentBlockJoinQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.search.CheckHits;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * {@link NestedEmbeddingKnnQuery} on a real block-join index (parents after their passages, several segments):
 * k hits are k distinct parents, each represented by its best passage, in the order brute force gives; a filter
 * joined down from parents restricts the passages searched; min_score drops; parents scored through
 * {@link ToParentBlockJoinQuery} get their best passage's score. Lucene's {@link QueryUtils} checks that apply to a
 * top-k query are run (equality, explanations); its random-reader checks do not apply, as to Lucene's own kNN
 * queries: the top k depend on the reader searched, so a query rewritten over one leaf finds other documents.
 */
public class NestedEmbeddingKnnQueryTests extends LuceneTestCase {
    private static final int PARENTS = 40;
    private static final int DIMS = 6;

    private Directory dir;
    private DirectoryReader reader;
    private IndexSearcher searcher;
    private BitSetProducer parents;
    /** Passage vectors per parent, in index order. */
    private final List<float[][]> passages = new ArrayList<>();

    @Override
    public void setUp() throws Exception {
        super.setUp();
        dir = newDirectory();
        Random random = new Random(7);
        try (IndexWriter writer = new IndexWriter(
                dir, new IndexWriterConfig().setMaxBufferedDocs(25).setMergePolicy(NoMergePolicy.INSTANCE))) {
            for (int p = 0; p < PARENTS; p++) {
                List<Document> block = new ArrayList<>();
                float[][] own = new float[1 + random.nextInt(5)][];
                for (int c = 0; c < own.length; c++) {
                    own[c] = unit(random);
                    Document child = new Document();
                    child.add(new KnnFloatVectorField("passages.vec", own[c], VectorSimilarityFunction.COSINE));
                    child.add(new StoredField("parent", p));
                    block.add(child);
                }
                passages.add(own);
                Document parent = new Document();
                parent.add(new StringField("type", "parent", Field.Store.NO));
                parent.add(new StringField("id", Integer.toString(p), Field.Store.YES));
                parent.add(new StringField("parity", p % 2 == 0 ? "even" : "odd", Field.Store.NO));
                block.add(parent);
                writer.addDocuments(block);
            }
        }
        reader = DirectoryReader.open(dir);
        assertTrue("the test needs several segments", reader.leaves().size() > 2);
        searcher = newSearcher(reader);
        parents = new QueryBitSetProducer(new TermQuery(new Term("type", "parent")));
    }

    @Override
    public void tearDown() throws Exception {
        reader.close();
        dir.close();
        super.tearDown();
    }

    private static float[] unit(Random random) {
        float[] v = new float[DIMS];
        double n = 0;
        for (int d = 0; d < DIMS; d++) {
            v[d] = random.nextFloat() - 0.5f;
            n += v[d] * v[d];
        }
        for (int d = 0; d < DIMS; d++) {
            v[d] /= (float) Math.sqrt(n);
        }
        return v;
    }

    /** Lucene's cosine score of a parent's best passage. */
    private double best(int parent, float[] query) {
        double best = Double.NEGATIVE_INFINITY;
        for (float[] p : passages.get(parent)) {
            best = Math.max(best, VectorSimilarityFunction.COSINE.compare(query, p));
        }
        return best;
    }

    private int parentOf(int childDoc) throws IOException {
        return searcher.storedFields()
                .document(childDoc)
                .getField("parent")
                .numericValue()
                .intValue();
    }

    public void testKDistinctParentsEachByItsBestPassageInBruteForceOrder() throws IOException {
        float[] query = unit(new Random(99));
        Query knn = new NestedEmbeddingKnnQuery(
                "passages.vec", query, 10, 10, null, parents, Float.NEGATIVE_INFINITY, true);
        TopDocs top = searcher.search(knn, 100);
        assertEquals(10, top.scoreDocs.length);
        List<Integer> expected = new ArrayList<>();
        for (int p = 0; p < PARENTS; p++) {
            expected.add(p);
        }
        expected.sort((a, b) -> Double.compare(best(b, query), best(a, query)));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            ScoreDoc hit = top.scoreDocs[i];
            int parent = parentOf(hit.doc);
            assertTrue("distinct parents", seen.add(parent));
            assertEquals("rank " + i, expected.get(i).intValue(), parent);
            assertEquals(best(parent, query), hit.score, 1e-5);
        }
        // approximate search over this small graph finds the same parents
        TopDocs approximate = searcher.search(
                new NestedEmbeddingKnnQuery(
                        "passages.vec", query, 10, 40, null, parents, Float.NEGATIVE_INFINITY, false),
                100);
        assertEquals(10, approximate.scoreDocs.length);
        Set<Integer> approximateParents = new HashSet<>();
        for (ScoreDoc hit : approximate.scoreDocs) {
            approximateParents.add(parentOf(hit.doc));
        }
        assertEquals(seen, approximateParents);
    }

    public void testParentFilterJoinedDownAndMinScore() throws IOException {
        float[] query = unit(new Random(5));
        Query even = new ToChildBlockJoinQuery(new TermQuery(new Term("parity", "even")), parents);
        TopDocs top = searcher.search(
                new NestedEmbeddingKnnQuery(
                        "passages.vec", query, 50, 50, even, parents, Float.NEGATIVE_INFINITY, true),
                100);
        assertEquals(PARENTS / 2, top.scoreDocs.length);
        for (ScoreDoc hit : top.scoreDocs) {
            assertEquals(0, parentOf(hit.doc) % 2);
        }
        float threshold = top.scoreDocs[4].score;
        TopDocs kept = searcher.search(
                new NestedEmbeddingKnnQuery("passages.vec", query, 50, 50, even, parents, threshold, true), 100);
        assertEquals(5, kept.scoreDocs.length);
    }

    public void testScoresParentsThroughABlockJoinAndPassesQueryUtils() throws IOException {
        float[] query = unit(new Random(11));
        NestedEmbeddingKnnQuery knn =
                new NestedEmbeddingKnnQuery("passages.vec", query, 5, 8, null, parents, Float.NEGATIVE_INFINITY, false);
        QueryUtils.check(knn);
        CheckHits.checkExplanations(knn, "passages.vec", searcher);
        TopDocs top = searcher.search(new ToParentBlockJoinQuery(knn, parents, ScoreMode.Max), 100);
        assertEquals(5, top.scoreDocs.length);
        for (ScoreDoc hit : top.scoreDocs) {
            int parent =
                    Integer.parseInt(searcher.storedFields().document(hit.doc).get("id"));
            assertEquals(best(parent, query), hit.score, 1e-5);
        }
        assertEquals(
                knn,
                new NestedEmbeddingKnnQuery(
                        "passages.vec", query, 5, 8, null, parents, Float.NEGATIVE_INFINITY, false));
        assertNotEquals(
                knn,
                new NestedEmbeddingKnnQuery(
                        "passages.vec", query, 6, 8, null, parents, Float.NEGATIVE_INFINITY, false));
    }
}

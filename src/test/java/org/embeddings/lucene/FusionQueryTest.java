package org.embeddings.lucene;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * {@link FusionQuery} and {@link EmbeddingKnnQuery} on a small real Lucene index spread over several segments:
 * fused scores are checked against the formulas computed here from the sub-queries' own top-docs, and the rewritten
 * query is checked to compose (boolean filter, counting) the way any Lucene query does.
 */
public class FusionQueryTest {
    private static final int DOCS = 60;
    private static final int DIMS = 8;
    private static Directory dir;
    private static DirectoryReader reader;
    private static IndexSearcher searcher;
    private static float[][] vectors;

    @BeforeClass
    public static void index() throws IOException {
        dir = new ByteBuffersDirectory();
        Random random = new Random(42);
        vectors = new float[DOCS][DIMS];
        try (IndexWriter writer = new IndexWriter(
                dir, new IndexWriterConfig().setMaxBufferedDocs(7).setMergePolicy(NoMergePolicy.INSTANCE))) {
            for (int i = 0; i < DOCS; i++) {
                for (int d = 0; d < DIMS; d++) {
                    vectors[i][d] = random.nextFloat() - 0.5f;
                }
                Document doc = new Document();
                doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
                doc.add(new StringField("parity", i % 2 == 0 ? "even" : "odd", Field.Store.NO));
                // "alpha" in every third document, repeated by id so that BM25 ranks them apart
                doc.add(new TextField(
                        "body", (i % 3 == 0 ? "alpha ".repeat(1 + i % 5) : "") + "filler text " + i, Field.Store.NO));
                doc.add(new KnnFloatVectorField("vec", vectors[i], VectorSimilarityFunction.COSINE));
                writer.addDocument(doc);
            }
        }
        reader = DirectoryReader.open(dir);
        assertTrue("the test needs several segments", reader.leaves().size() > 3);
        searcher = new IndexSearcher(reader);
    }

    @AfterClass
    public static void close() throws IOException {
        reader.close();
        dir.close();
    }

    private static Query text() {
        return new TermQuery(new Term("body", "alpha"));
    }

    private static Query knn(int k) {
        return new EmbeddingKnnQuery("vec", vectors[5], k, k, null, Float.NEGATIVE_INFINITY, true);
    }

    private static Map<Integer, Float> scores(TopDocs top) {
        Map<Integer, Float> m = new HashMap<>();
        for (ScoreDoc sd : top.scoreDocs) {
            m.put(sd.doc, sd.score);
        }
        return m;
    }

    @Test
    public void rrfScoresAreReciprocalRanksOfEachWindow() throws IOException {
        int window = 10;
        TopDocs a = searcher.search(text(), window);
        TopDocs b = searcher.search(knn(window), window);
        Map<Integer, Float> expected = new HashMap<>();
        for (TopDocs top : List.of(a, b)) {
            for (int r = 0; r < top.scoreDocs.length; r++) {
                expected.merge(top.scoreDocs[r].doc, 1f / (60 + r + 1), Float::sum);
            }
        }
        FusionQuery fusion =
                new FusionQuery(List.of(text(), knn(window)), new float[] {1, 1}, new ScoreFusion.Rrf(60), window);
        TopDocs fused = searcher.search(fusion, 100);
        assertEquals(expected.size(), fused.scoreDocs.length);
        assertEquals(expected.size(), searcher.count(fusion));
        for (ScoreDoc sd : fused.scoreDocs) {
            assertEquals("doc " + sd.doc, expected.get(sd.doc), sd.score, 1e-7f);
        }
        for (int i = 1; i < fused.scoreDocs.length; i++) {
            assertTrue(fused.scoreDocs[i - 1].score >= fused.scoreDocs[i].score);
        }
    }

    @Test
    public void linearMinMaxWeighsNormalizedScores() throws IOException {
        int window = 15;
        Map<Integer, Float> a = scores(searcher.search(text(), window));
        Map<Integer, Float> b = scores(searcher.search(knn(window), window));
        float[] weights = {0.3f, 0.7f};
        Map<Integer, Float> expected = new HashMap<>();
        List<Map<Integer, Float>> windows = List.of(a, b);
        for (int w = 0; w < 2; w++) {
            float min = windows.get(w).values().stream().min(Float::compare).orElseThrow();
            float max = windows.get(w).values().stream().max(Float::compare).orElseThrow();
            for (Map.Entry<Integer, Float> e : windows.get(w).entrySet()) {
                expected.merge(e.getKey(), weights[w] * (e.getValue() - min) / (max - min), Float::sum);
            }
        }
        FusionQuery fusion = new FusionQuery(
                List.of(text(), knn(window)), weights, new ScoreFusion.Linear(Normalization.MIN_MAX), window);
        TopDocs fused = searcher.search(fusion, 100);
        assertEquals(expected.size(), fused.scoreDocs.length);
        for (ScoreDoc sd : fused.scoreDocs) {
            assertEquals("doc " + sd.doc, expected.get(sd.doc), sd.score, 1e-6f);
        }
    }

    @Test
    public void fusedResultComposesWithABooleanFilter() throws IOException {
        FusionQuery fusion = new FusionQuery(List.of(text(), knn(10)), new float[] {1, 1}, new ScoreFusion.Rrf(60), 10);
        TopDocs all = searcher.search(fusion, 100);
        Query evenOnly = new BooleanQuery.Builder()
                .add(fusion, BooleanClause.Occur.MUST)
                .add(new TermQuery(new Term("parity", "even")), BooleanClause.Occur.FILTER)
                .build();
        TopDocs even = searcher.search(evenOnly, 100);
        int expected = 0;
        for (ScoreDoc sd : all.scoreDocs) {
            if (Integer.parseInt(searcher.storedFields().document(sd.doc).get("id")) % 2 == 0) {
                expected++;
            }
        }
        assertTrue(expected > 0 && expected < all.scoreDocs.length);
        assertEquals(expected, even.scoreDocs.length);
        assertEquals(expected, searcher.count(evenOnly));
    }

    @Test
    public void exactKnnIsBruteForceCosine() throws IOException {
        int k = 7;
        TopDocs top = searcher.search(knn(k), 100);
        Integer[] byCosine = new Integer[DOCS];
        float[] cos = new float[DOCS];
        for (int i = 0; i < DOCS; i++) {
            byCosine[i] = i;
            cos[i] = VectorSimilarityFunction.COSINE.compare(vectors[5], vectors[i]);
        }
        Arrays.sort(byCosine, (x, y) -> Float.compare(cos[y], cos[x]));
        int[] expected = new int[k];
        int[] actual = new int[k];
        for (int i = 0; i < k; i++) {
            expected[i] = byCosine[i];
            actual[i] = Integer.parseInt(
                    searcher.storedFields().document(top.scoreDocs[i].doc).get("id"));
        }
        assertEquals(k, top.scoreDocs.length);
        assertArrayEquals(expected, actual);
    }

    @Test
    public void minScoreDropsWeakHitsAndKCutsCandidates() throws IOException {
        TopDocs wide = searcher.search(
                new EmbeddingKnnQuery("vec", vectors[5], 20, 40, null, Float.NEGATIVE_INFINITY, true), 100);
        assertEquals(20, wide.scoreDocs.length);
        float threshold = wide.scoreDocs[9].score;
        TopDocs cut = searcher.search(new EmbeddingKnnQuery("vec", vectors[5], 20, 40, null, threshold, true), 100);
        assertTrue(cut.scoreDocs.length >= 10 && cut.scoreDocs.length < 20);
        for (ScoreDoc sd : cut.scoreDocs) {
            assertTrue(sd.score >= threshold);
        }
    }

    @Test
    public void normalizationsMapEachWindowToNonNegativeScores() {
        float[] raw = {3f, 1f, 2f};
        assertArrayEquals(new float[] {1f, 0f, 0.5f}, Normalization.MIN_MAX.apply(raw), 1e-6f);
        float norm = (float) Math.sqrt(14);
        assertArrayEquals(new float[] {3 / norm, 1 / norm, 2 / norm}, Normalization.L2.apply(raw), 1e-6f);
        float std = (float) Math.sqrt(2.0 / 3);
        // z-scores (1/std, -1/std, 0) shifted so the lowest is 0
        assertArrayEquals(new float[] {2 / std, 0f, 1 / std}, Normalization.Z_SCORE.apply(raw), 1e-5f);
    }
}

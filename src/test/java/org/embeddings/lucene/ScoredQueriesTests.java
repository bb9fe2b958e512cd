package org.embeddings.lucene;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.RandomIndexWriter;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.BytesRef;

/**
 * Lucene's {@link QueryUtils} conformance checks (equality, explanations that agree with scores, skipping, bulk
 * scoring, exact counts) on the plugin's scored-document queries, over a randomized multi-segment index with
 * deletions. {@link FusionQuery} and {@link ScoredIdsQuery} are also checked on the wrapped readers QueryUtils builds
 * (extra empty segments), which they rewrite against; a {@link ScoredDocsQuery} is bound to one reader, so it is
 * checked on that reader.
 */
public class ScoredQueriesTests extends LuceneTestCase {
    private static final String[] WORDS = {"lava", "ash", "bread", "oven", "heart", "blood", "goal", "match"};

    private Directory dir;
    private DirectoryReader reader;
    private IndexSearcher searcher;

    @Override
    public void setUp() throws Exception {
        super.setUp();
        dir = newDirectory();
        IndexWriterConfig config = newIndexWriterConfig().setMaxBufferedDocs(TestUtil.nextInt(random(), 5, 20));
        try (RandomIndexWriter writer = new RandomIndexWriter(random(), dir, config)) {
            int n = atLeast(80);
            for (int i = 0; i < n; i++) {
                Document doc = new Document();
                doc.add(new StringField("id", Integer.toString(i), Field.Store.NO));
                StringBuilder body = new StringBuilder();
                for (int w = 0; w < 1 + random().nextInt(6); w++) {
                    body.append(WORDS[random().nextInt(WORDS.length)]).append(' ');
                }
                doc.add(new TextField("body", body.toString(), Field.Store.NO));
                if (random().nextInt(5) > 0) {
                    doc.add(new KnnFloatVectorField(
                            "vec",
                            new float[] {random().nextFloat(), random().nextFloat() - 0.5f, 1f},
                            VectorSimilarityFunction.COSINE));
                }
                writer.addDocument(doc);
                if (random().nextInt(10) == 0) {
                    writer.commit();
                }
            }
            writer.deleteDocuments(new Term("id", "3"));
            writer.deleteDocuments(new Term("id", "17"));
            reader = writer.getReader();
        }
        searcher = newSearcher(reader);
    }

    @Override
    public void tearDown() throws Exception {
        reader.close();
        dir.close();
        super.tearDown();
    }

    /**
     * With windows as large as the index every sub-query's matches are in its window, so the fused set is the union of
     * the matches, which is what QueryUtils needs: it also rewrites the query against single segments and expects the
     * same documents there. A smaller window ranks over the whole reader (as kNN's top k does), which no per-segment
     * rewrite can reproduce; {@link FusionQueryTest} checks those rankings against the formulas.
     */
    public void testFusionQuery() throws IOException {
        List<Query> queries = List.of(
                new TermQuery(new Term("body", "lava")),
                new TermQuery(new Term("body", "bread")),
                new MatchAllDocsQuery());
        int everything = reader.maxDoc();
        for (ScoreFusion fusion : List.of(
                new ScoreFusion.Rrf(60),
                new ScoreFusion.Linear(Normalization.MIN_MAX),
                new ScoreFusion.Linear(Normalization.Z_SCORE))) {
            QueryUtils.check(
                    random(), new FusionQuery(queries, new float[] {1f, 0.5f, 0.1f}, fusion, everything), searcher);
            QueryUtils.check(
                    random(),
                    new FusionQuery(queries.subList(0, 2), new float[] {1f, 0.5f}, fusion, everything),
                    searcher);
        }
    }

    /** Exact search with k as large as the index matches every document with a vector: local, as QueryUtils needs. */
    public void testEmbeddingKnnQuery() throws IOException {
        float[] target = {0.3f, 0.1f, 1f};
        int everything = reader.maxDoc();
        QueryUtils.check(
                random(),
                new EmbeddingKnnQuery("vec", target, everything, everything, null, Float.NEGATIVE_INFINITY, true),
                searcher);
        QueryUtils.check(
                random(),
                new EmbeddingKnnQuery(
                        "vec", target, everything, everything, new TermQuery(new Term("body", "ash")), 0.9f, true),
                searcher);
    }

    public void testScoredIdsQuery() throws IOException {
        Map<BytesRef, Float> ids = new HashMap<>();
        for (int i = 0; i < 40; i += 1 + random().nextInt(3)) {
            ids.put(new BytesRef(Integer.toString(i)), random().nextFloat());
        }
        QueryUtils.check(random(), new ScoredIdsQuery("id", ids), searcher);
    }

    /**
     * A scored-docs query belongs to the reader it was computed on (like Lucene's DocAndScoreQuery), so the checks
     * that rebuild searchers over single segments do not apply; the others do, on its own searcher.
     */
    public void testScoredDocsQuery() throws IOException {
        ScoreDoc[] hits = searcher.search(new TermQuery(new Term("body", "oven")), 50).scoreDocs;
        ScoredDocsQuery query = new ScoredDocsQuery(hits, searcher.getIndexReader(), "test");
        QueryUtils.checkHashEquals(query);
        QueryUtils.checkExplanations(query, searcher);
        QueryUtils.checkCount(query, searcher);
        QueryUtils.checkBulkScorerSkipTo(random(), query, searcher);
        IndexSearcher other = newSearcher(DirectoryReader.open(dir));
        expectThrows(IllegalStateException.class, () -> other.search(query, 1));
        other.getIndexReader().close();
        assertEquals(hits.length, searcher.count(query));
        ScoreDoc[] again = searcher.search(query, 50).scoreDocs;
        assertEquals(hits.length, again.length);
        assertEquals(hits[0].score, again[0].score, 0f);
    }
}

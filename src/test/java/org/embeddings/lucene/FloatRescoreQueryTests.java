package org.embeddings.lucene;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.codecs.lucene104.Lucene104HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.search.CheckHits;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.Version;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * {@link FloatRescoreQuery} over {@link EmbeddingKnnQuery} on a real Lucene index written through
 * {@link PerFieldVectorsCodec}: field {@code bin} holds 1-bit quantized vectors in an HNSW graph, field {@code flat8}
 * 8-bit quantized vectors without a graph, field {@code plain} the delegate codec's float32 HNSW; three segments
 * large enough to get graphs. Rescoring must keep exactly the quantized candidates, give each its exact float32
 * similarity, and rank them by it.
 */
public class FloatRescoreQueryTests extends LuceneTestCase {
    private static final int DOCS = 3000;
    private static final int DIMS = 32;
    private static final VectorSimilarityFunction SIM = VectorSimilarityFunction.COSINE;
    private static Directory dir;
    private static DirectoryReader reader;
    private static float[][] vectors;
    private static Map<Integer, Integer> docToId;

    @BeforeClass
    public static void index() throws IOException {
        dir = new ByteBuffersDirectory();
        Random random = new Random(7);
        float[][] centroids = new float[20][DIMS];
        for (float[] c : centroids) {
            for (int d = 0; d < DIMS; d++) {
                c[d] = (float) random.nextGaussian();
            }
        }
        vectors = new float[DOCS][];
        Map<String, VectorFormat> formats = Map.of(
                "bin", new VectorFormat(true, Quantization.BINARY, 16, 100),
                "flat8", new VectorFormat(false, Quantization.INT8, 16, 100));
        Codec codec = new PerFieldVectorsCodec(new Lucene104Codec(), formats::get);
        IndexWriterConfig config = new IndexWriterConfig()
                .setCodec(codec)
                .setMaxBufferedDocs(DOCS / 3)
                .setMergePolicy(NoMergePolicy.INSTANCE);
        try (IndexWriter writer = new IndexWriter(dir, config)) {
            for (int i = 0; i < DOCS; i++) {
                float[] c = centroids[random.nextInt(centroids.length)];
                vectors[i] = new float[DIMS];
                for (int d = 0; d < DIMS; d++) {
                    vectors[i][d] = c[d] + 0.6f * (float) random.nextGaussian();
                }
                Document doc = new Document();
                doc.add(new StoredField("id", i));
                doc.add(new StringField("parity", i % 2 == 0 ? "even" : "odd", Field.Store.NO));
                for (String field : new String[] {"bin", "flat8", "plain"}) {
                    doc.add(new KnnFloatVectorField(field, vectors[i], SIM));
                }
                writer.addDocument(doc);
            }
        }
        reader = DirectoryReader.open(dir);
        assertEquals("the test needs several segments", 3, reader.leaves().size());
        docToId = new HashMap<>();
        for (LeafReaderContext leaf : reader.leaves()) {
            for (int d = 0; d < leaf.reader().maxDoc(); d++) {
                docToId.put(
                        leaf.docBase + d,
                        leaf.reader()
                                .storedFields()
                                .document(d)
                                .getField("id")
                                .numericValue()
                                .intValue());
            }
        }
    }

    @AfterClass
    public static void close() throws IOException {
        reader.close();
        dir.close();
        reader = null;
        dir = null;
    }

    private static float[] target(Random random) {
        float[] t = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            t[d] = (float) random.nextGaussian();
        }
        return t;
    }

    private static float exact(float[] target, int doc) {
        return SIM.compare(target, vectors[docToId.get(doc)]);
    }

    public void testTheCodecWritesTheChosenFormatsAndPlainLuceneReadsThemBack() throws IOException {
        for (LeafReaderContext leaf : reader.leaves()) {
            CodecReader codecReader = (CodecReader) leaf.reader();
            KnnVectorsReader vectorsReader = codecReader.getVectorReader();
            FieldInfo bin = leaf.reader().getFieldInfos().fieldInfo("bin");
            FieldInfo flat = leaf.reader().getFieldInfos().fieldInfo("flat8");
            FieldInfo plain = leaf.reader().getFieldInfos().fieldInfo("plain");
            assertEquals(
                    Lucene104HnswScalarQuantizedVectorsFormat.NAME,
                    bin.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY));
            assertEquals(
                    Lucene104HnswScalarQuantizedVectorsFormat.NAME,
                    flat.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY));
            assertEquals(
                    "Lucene99HnswVectorsFormat", plain.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY));
            Map<String, Long> binBytes = vectorsReader.getOffHeapByteSize(bin);
            Map<String, Long> flatBytes = vectorsReader.getOffHeapByteSize(flat);
            Map<String, Long> plainBytes = vectorsReader.getOffHeapByteSize(plain);
            int n = leaf.reader().maxDoc();
            assertEquals((long) n * DIMS * Float.BYTES, (long) plainBytes.get("vec"));
            assertEquals(plainBytes.get("vec"), binBytes.get("vec"));
            // 1 bit per dim plus per-vector corrections, against 8 bits per dim plus corrections
            assertTrue(binBytes.toString(), binBytes.get("veq") < (long) n * DIMS / 8 + 32L * n);
            assertTrue(flatBytes.toString(), flatBytes.get("veq") >= (long) n * DIMS);
            assertTrue(binBytes.toString(), binBytes.get("vex") > 0);
            assertTrue(plainBytes.toString(), plainBytes.get("vex") > 0);
            assertEquals("flat means no graph: " + flatBytes, 0L, (long) flatBytes.getOrDefault("vex", 0L));
        }
    }

    public void testRescoringKeepsTheCandidatesAndRanksThemByExactFloatScores() throws IOException {
        IndexSearcher searcher = newSearcher(reader);
        Random random = new Random(11);
        int k = 10;
        int candidates = 30;
        int reordered = 0;
        for (String field : new String[] {"bin", "flat8"}) {
            for (int q = 0; q < 20; q++) {
                float[] target = target(random);
                Query quantized = new EmbeddingKnnQuery(
                        field, target, candidates, candidates, null, Float.NEGATIVE_INFINITY, false);
                TopDocs pool = searcher.search(quantized, candidates);
                assertEquals(candidates, pool.scoreDocs.length);
                TopDocs rescored =
                        searcher.search(new FloatRescoreQuery(quantized, field, target, k, Float.NEGATIVE_INFINITY), k);

                Set<Integer> poolDocs =
                        Arrays.stream(pool.scoreDocs).map(d -> d.doc).collect(Collectors.toSet());
                ScoreDoc[] expected = Arrays.stream(pool.scoreDocs)
                        .map(d -> new ScoreDoc(d.doc, exact(target, d.doc)))
                        .sorted(Comparator.comparingDouble((ScoreDoc d) -> -d.score)
                                .thenComparingInt(d -> d.doc))
                        .limit(k)
                        .toArray(ScoreDoc[]::new);
                assertEquals(k, rescored.scoreDocs.length);
                for (int i = 0; i < k; i++) {
                    ScoreDoc hit = rescored.scoreDocs[i];
                    assertTrue("a rescored hit that was no candidate: " + hit.doc, poolDocs.contains(hit.doc));
                    assertEquals("the float32 similarity, exactly", exact(target, hit.doc), hit.score, 0f);
                    assertEquals("rank " + i, expected[i].doc, hit.doc);
                }
                int[] before = Arrays.stream(pool.scoreDocs)
                        .limit(k)
                        .mapToInt(d -> d.doc)
                        .toArray();
                int[] after =
                        Arrays.stream(rescored.scoreDocs).mapToInt(d -> d.doc).toArray();
                if (Arrays.equals(before, after) == false) {
                    reordered++;
                }
            }
        }
        assertTrue("rescoring never changed a ranking, so this test shows nothing", reordered > 10);
    }

    public void testMinScoreAppliesToTheFloatScores() throws IOException {
        IndexSearcher searcher = newSearcher(reader);
        float[] target = target(new Random(3));
        Query quantized = new EmbeddingKnnQuery("bin", target, 50, 50, null, Float.NEGATIVE_INFINITY, false);
        TopDocs all = searcher.search(new FloatRescoreQuery(quantized, "bin", target, 50, Float.NEGATIVE_INFINITY), 50);
        float cut = all.scoreDocs[20].score;
        TopDocs kept = searcher.search(new FloatRescoreQuery(quantized, "bin", target, 50, cut), 50);
        assertTrue(kept.scoreDocs.length >= 21 && kept.scoreDocs.length < 50);
        for (ScoreDoc d : kept.scoreDocs) {
            assertTrue(d.score >= cut);
        }
        assertEquals(all.scoreDocs[kept.scoreDocs.length - 1].doc, kept.scoreDocs[kept.scoreDocs.length - 1].doc);
    }

    public void testRescoringAFilteredCandidateSetStaysInsideTheFilter() throws IOException {
        IndexSearcher searcher = newSearcher(reader);
        float[] target = target(new Random(5));
        Query even = new TermQuery(new Term("parity", "even"));
        Query quantized = new EmbeddingKnnQuery("bin", target, 30, 30, even, Float.NEGATIVE_INFINITY, false);
        for (ScoreDoc d : searcher.search(
                        new FloatRescoreQuery(quantized, "bin", target, 10, Float.NEGATIVE_INFINITY), 10)
                .scoreDocs) {
            assertEquals(0, docToId.get(d.doc) % 2);
        }
    }

    /**
     * On one segment: QueryUtils also searches each segment alone, where a top-k query rightly finds another top k
     * than over the whole reader (as Lucene's own kNN queries do).
     */
    public void testQueryUtils() throws IOException {
        float[] target = target(new Random(9));
        Query quantized = new EmbeddingKnnQuery("bin", target, 20, 20, null, Float.NEGATIVE_INFINITY, false);
        FloatRescoreQuery query = new FloatRescoreQuery(quantized, "bin", target, 5, Float.NEGATIVE_INFINITY);
        try (Directory single = new ByteBuffersDirectory()) {
            IndexWriterConfig config = new IndexWriterConfig()
                    .setCodec(new PerFieldVectorsCodec(
                            new Lucene104Codec(), f -> new VectorFormat(true, Quantization.BINARY, 16, 100)));
            try (IndexWriter writer = new IndexWriter(single, config)) {
                for (int i = 0; i < 500; i++) {
                    Document doc = new Document();
                    doc.add(new KnnFloatVectorField("bin", vectors[i], SIM));
                    writer.addDocument(doc);
                }
                writer.forceMerge(1);
            }
            try (DirectoryReader one = DirectoryReader.open(single)) {
                IndexSearcher searcher = newSearcher(one);
                if (Version.LATEST.major > 10 || Version.LATEST.minor >= 5) {
                    QueryUtils.check(random(), query, searcher);
                } else {
                    // Lucene 10.4's checkFirstSkipTo runs a query rewritten on one reader against another, which no
                    // query that rewrites to the documents of its reader passes (Lucene's DocAndScoreQuery neither);
                    // 10.5 rewrites per reader. Every other check of QueryUtils.check:
                    QueryUtils.check(query);
                    QueryUtils.checkSkipTo(query, searcher);
                    QueryUtils.checkBulkScorerSkipTo(random(), query, searcher);
                    QueryUtils.checkCount(query, searcher);
                    QueryUtils.checkExplanations(query, searcher);
                    CheckHits.checkMatches(query, searcher);
                }
            }
        }
        QueryUtils.checkUnequal(query, new FloatRescoreQuery(quantized, "bin", target, 6, Float.NEGATIVE_INFINITY));
        QueryUtils.checkUnequal(query, new FloatRescoreQuery(quantized, "flat8", target, 5, Float.NEGATIVE_INFINITY));
        QueryUtils.checkEqual(
                query, new FloatRescoreQuery(quantized, "bin", target.clone(), 5, Float.NEGATIVE_INFINITY));
    }
}

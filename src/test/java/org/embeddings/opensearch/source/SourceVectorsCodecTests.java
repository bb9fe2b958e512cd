package org.embeddings.opensearch.source;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.BytesRef;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.MediaType;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.mapper.ParseContext;

/**
 * The source-vector codec on a real Lucene index, written as OpenSearch writes documents: each root document's
 * {@code _source} masked by {@link MaskSourceVectors#occurrences} and {@link VectorMarkers#mask}, nested objects as
 * child documents written before their root, in blocks. Checked: every read returns each source with exactly the
 * floats indexed (root vectors, nested passages with a null one among them, a vector kept in the source because the
 * mapper changed it, JSON and SMILE sources); the bytes stored hold markers, not floats; and both stay so after
 * deletes, a merge into one segment (which must copy the masked bytes, not the restored ones), and reopening the
 * directory through Lucene's SPI, where only the codec's name leads to this class.
 */
public class SourceVectorsCodecTests extends LuceneTestCase {
    private static final int DIMS = 8;
    private static final FieldType VECTOR = KnnFloatVectorField.createFieldType(DIMS, VectorSimilarityFunction.COSINE);

    /** The source a document was sent with, by id. */
    private final Map<String, Map<String, Object>> sent = new LinkedHashMap<>();
    /** Ids whose root vector the mapper changed, so that their source keeps it. */
    private final java.util.Set<String> inexactRoots = new java.util.HashSet<>();

    public void testSourcesReadBackWithTheirVectorsThroughFlushMergeAndReopen() throws IOException {
        Random random = new Random(11);
        try (Directory dir = newDirectory()) {
            IndexWriterConfig config = new IndexWriterConfig()
                    .setCodec(new SourceVectorsCodec(new Lucene104Codec()))
                    .setMaxBufferedDocs(17)
                    .setMergePolicy(new TieredMergePolicy());
            try (IndexWriter writer = new IndexWriter(dir, config)) {
                for (int i = 0; i < 120; i++) {
                    MediaType type = i % 5 == 0 ? XContentType.SMILE : XContentType.JSON;
                    writer.addDocuments(
                            block("d" + i, i % 3 == 0 ? 1 + random.nextInt(4) : 0, i % 7 == 0, type, random));
                }
                writer.commit();
                try (DirectoryReader reader = DirectoryReader.open(writer)) {
                    assertTrue("several segments", reader.leaves().size() > 1);
                    checkAll(reader);
                }
                for (int i = 0; i < 120; i += 4) {
                    writer.deleteDocuments(new Term("id", "d" + i));
                    sent.remove("d" + i);
                }
                writer.forceMerge(1);
                writer.commit();
                try (DirectoryReader reader = DirectoryReader.open(writer)) {
                    assertEquals(1, reader.leaves().size());
                    checkAll(reader);
                }
            }
            // read as a restarted node reads: the segment names its codec, SPI finds this class
            try (DirectoryReader reader = DirectoryReader.open(dir)) {
                assertEquals(
                        SourceVectorsCodec.NAME,
                        ((SegmentReader) reader.leaves().get(0).reader())
                                .getSegmentInfo()
                                .info
                                .getCodec()
                                .getName());
                checkAll(reader);
            }
        }
    }

    /**
     * One document as OpenSearch writes it: {@code passages} nested objects (one of them without a vector when there
     * are three or more) before the root document, which holds {@code vec} and the masked source. A root vector that
     * is not exact stays in the source.
     */
    private List<Document> block(String id, int passages, boolean inexact, MediaType type, Random random)
            throws IOException {
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("id", id);
        source.put("body", "text of " + id);
        List<ParseContext.Document> parsed = new ArrayList<>();
        List<Document> lucene = new ArrayList<>();
        if (passages > 0) {
            List<Map<String, Object>> objects = new ArrayList<>();
            for (int p = 0; p < passages; p++) {
                Map<String, Object> object = new LinkedHashMap<>();
                ParseContext.Document child = new ParseContext.Document();
                if (p == 1 && passages >= 3) {
                    object.put("vec", null);
                } else {
                    float[] v = vector(random);
                    object.put("vec", list(v));
                    child.add(new SourceVectorField("passages.vec", v, VECTOR, true));
                }
                object.put("start", p * 10);
                objects.add(object);
                parsed.add(child);
            }
            source.put("passages", objects);
        }
        float[] v = vector(random);
        source.put("vec", list(v));
        ParseContext.Document root = new ParseContext.Document();
        root.add(new SourceVectorField("vec", v, VECTOR, inexact == false));
        parsed.add(root);
        sent.put(id, source);
        if (inexact) {
            inexactRoots.add(id);
        }

        BytesReference bytes = bytes(source, type);
        BytesReference masked = VectorMarkers.mask(bytes, type, MaskSourceVectors.occurrences(parsed));
        if (passages == 0 && inexact) {
            assertNull("a source whose only vector is not exact stays as it is", masked);
            masked = bytes;
        } else {
            assertNotNull("a source with exact vectors is masked", masked);
        }
        for (ParseContext.Document doc : parsed) {
            Document d = new Document();
            doc.forEach(d::add);
            lucene.add(d);
        }
        Document last = lucene.get(lucene.size() - 1);
        last.add(new StringField("id", id, Field.Store.NO));
        BytesRef ref = masked.toBytesRef();
        last.add(new StoredField("_source", ref.bytes, ref.offset, ref.length));
        return lucene;
    }

    private void checkAll(DirectoryReader reader) throws IOException {
        int roots = 0;
        for (LeafReaderContext leaf : reader.leaves()) {
            LeafReader r = leaf.reader();
            StoredFields restoring = r.storedFields();
            StoredFields raw = ((SourceVectorsFormat.Reader) ((SegmentReader) r).getFieldsReader()).unwrap();
            for (int doc = 0; doc < r.maxDoc(); doc++) {
                if (r.getLiveDocs() != null && r.getLiveDocs().get(doc) == false) {
                    continue;
                }
                Document stored = restoring.document(doc);
                BytesRef source = stored.getBinaryValue("_source");
                if (source == null) {
                    continue; // a nested document
                }
                roots++;
                Map<String, Object> read = map(new BytesArray(source));
                Map<String, Object> expected = sent.get((String) read.get("id"));
                assertEquals(asFloats(expected), asFloats(read));

                Map<String, Object> storedRaw =
                        map(new BytesArray(raw.document(doc).getBinaryValue("_source")));
                Object rootVector = storedRaw.get("vec");
                if (inexactRoots.contains((String) read.get("id"))) {
                    assertTrue("a vector the mapper changed stays in the source", rootVector instanceof List<?>);
                } else {
                    assertEquals("an exact root vector is stored as a marker", 0, ((Number) rootVector).intValue());
                }
                if (storedRaw.get("passages") instanceof List<?> objects) {
                    int distance = objects.size();
                    for (Object o : objects) {
                        Object marker = ((Map<?, ?>) o).get("vec");
                        assertTrue(
                                "a nested vector is stored as its distance from the root: " + marker,
                                marker == null || ((Number) marker).intValue() == distance);
                        distance--;
                    }
                }
            }
        }
        assertEquals(sent.size(), roots);
    }

    private static float[] vector(Random random) {
        float[] v = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            v[d] = random.nextFloat() * 2 - 1;
        }
        return v;
    }

    private static List<Float> list(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
    }

    private static BytesReference bytes(Map<String, Object> source, MediaType type) throws IOException {
        try (XContentBuilder builder = XContentBuilder.builder(type.xContent())) {
            builder.map(source);
            return BytesReference.bytes(builder);
        }
    }

    private static Map<String, Object> map(BytesReference bytes) {
        return XContentHelper.convertToMap(bytes, true).v2();
    }

    /** The source with every number read as a float, so that a JSON double and a float compare as the same float. */
    private static Object asFloats(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<Object, Object> out = new HashMap<>();
            m.forEach((k, v) -> out.put(k, asFloats(v)));
            return out;
        }
        if (value instanceof List<?> l) {
            return l.stream().map(SourceVectorsCodecTests::asFloats).toList();
        }
        if (value instanceof Number n) {
            return n.floatValue();
        }
        return value;
    }
}

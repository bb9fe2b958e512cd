package org.embeddings.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.lucene.tests.util.RamUsageTester;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.opensearch.ingest.VectorBytes;
import org.embeddings.opensearch.ingest.VectorList;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.VersionType;
import org.opensearch.ingest.IngestDocument;

/**
 * The heap one in-flight document of an {@code embed} bulk takes, by how its vector is held: boxed
 * ({@code ArrayList<Float>}, as the processor wrote it before), {@link VectorList} over the encoder's array (as it
 * writes it now), and a bare {@code float[]} (which serializes but fails OpenSearch's document copy). For each: the
 * ingest document as the pipeline holds it (source map with a one-word text and the vector, metadata, ingest
 * metadata), measured by Lucene's {@link RamUsageTester} (a reflective walk of the object graph), and the JSON source
 * the bulk then holds until it is indexed. Vectors are real: bge-small-en-v1.5 on {@code -Dbench.texts} one-word
 * texts, whose JSON lengths give the mean that {@link VectorBytes} charges per vector.
 *
 * <p>Usage: {@code src/scripts/bench.sh ingest-heap [MODEL]}.
 */
public final class IngestHeapBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int count = Integer.getInteger("bench.texts", 2000);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            texts.add("word" + i);
        }
        float[][] vectors;
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder(model);
            vectors = encoder.encode(texts, Role.PASSAGE);
        }
        int dims = vectors[0].length;
        System.out.printf(Locale.ROOT, "%s, %d dims, %d one-word texts%n", model, dims, count);

        long json = 0;
        for (float[] v : vectors) {
            json += jsonBytes(Map.of("v", new VectorList(v))) - jsonBytes(Map.of("v", List.of()));
        }
        double jsonPerVector = (double) json / count;
        System.out.printf(
                Locale.ROOT,
                "JSON text of one vector: %.0f bytes on average (%.2f per component); charged per vector now: %d%n",
                jsonPerVector,
                jsonPerVector / dims,
                VectorBytes.perVector(dims));

        System.out.printf(
                Locale.ROOT,
                "%n%-34s %14s %14s %14s%n",
                "vector held as",
                "doc heap B",
                "JSON source B",
                "in flight B");
        long baseline = 0;
        for (String holder : List.of("ArrayList<Float> (before)", "VectorList (now)", "float[] (not copyable)")) {
            long heap = 0;
            long source = 0;
            for (int i = 0; i < 200; i++) {
                Object value = switch (holder.charAt(0)) {
                    case 'A' -> boxed(vectors[i]);
                    case 'V' -> new VectorList(vectors[i]);
                    default -> vectors[i];
                };
                IngestDocument doc = document(texts.get(i), value);
                heap += RamUsageTester.ramUsed(doc);
                source += jsonBytes(doc.getSourceAndMetadata());
            }
            heap /= 200;
            source /= 200;
            long inFlight = heap + source;
            if (baseline == 0) {
                baseline = inFlight;
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-34s %14d %14d %14d  (%.2fx)%n",
                    holder,
                    heap,
                    source,
                    inFlight,
                    (double) inFlight / baseline);
        }
        IngestDocument withArray = document("word", vectors[0]);
        try {
            new IngestDocument(withArray);
            System.out.println("\nfloat[]: the ingest document copies");
        } catch (IllegalArgumentException e) {
            System.out.println("\nfloat[]: copying the ingest document fails: " + e.getMessage());
        }
    }

    private static List<Float> boxed(float[] vector) {
        List<Float> out = new ArrayList<>(vector.length);
        for (float v : vector) {
            out.add(v);
        }
        return out;
    }

    /** A document as the bulk's ingest holds it, with its vector written back. */
    private static IngestDocument document(String text, Object vector) {
        Map<String, Object> source = new HashMap<>();
        source.put("body", text);
        IngestDocument doc = new IngestDocument("docs", "id-" + text, null, 1L, VersionType.INTERNAL, source);
        doc.setFieldValue("vec", vector);
        return doc;
    }

    private static long jsonBytes(Map<String, ?> map) throws Exception {
        try (XContentBuilder builder = XContentFactory.jsonBuilder()) {
            builder.map(map);
            return BytesReference.bytes(builder).length();
        }
    }

    private IngestHeapBench() {}
}

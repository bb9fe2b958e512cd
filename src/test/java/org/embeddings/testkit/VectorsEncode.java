package org.embeddings.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * Encodes a BEIR dataset once with the in-process encoder (the code a node runs), so that every vector-format run
 * reuses the same vectors: the corpus (title + " " + text, role passage, as MTEB does) and the test queries (role
 * query). Files already there are kept.
 *
 * <p>Usage: {@code bench.sh vectors encode [MODEL] [DATA_DIR]}; writes {@code target/vectors/<dataset>-<model>-corpus.bin}
 * and {@code -queries.bin}.
 */
public final class VectorsEncode {
    private VectorsEncode() {}

    public static Path corpusFile(String dataset, String model) {
        return Path.of("target/vectors", dataset + "-" + model + "-corpus.bin");
    }

    public static Path queriesFile(String dataset, String model) {
        return Path.of("target/vectors", dataset + "-" + model + "-queries.bin");
    }

    public static void run(String model, Path data) throws Exception {
        String dataset = data.getFileName().toString();
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder(model);
            BeirSet set = BeirSet.read(data);
            Path queries = queriesFile(dataset, model);
            if (Files.exists(queries) == false) {
                new VectorFile(
                                List.copyOf(set.queries().keySet()),
                                encode(encoder, List.copyOf(set.queries().values()), Role.QUERY, "queries"))
                        .write(queries);
            }
            Path corpus = corpusFile(dataset, model);
            if (Files.exists(corpus) == false) {
                Map<String, String> bodies = set.bodies();
                new VectorFile(
                                List.copyOf(bodies.keySet()),
                                encode(encoder, List.copyOf(bodies.values()), Role.PASSAGE, "corpus"))
                        .write(corpus);
            }
            System.out.printf(Locale.ROOT, "vectors of %s with %s: %s, %s%n", dataset, model, corpus, queries);
        }
    }

    private static float[][] encode(Encoder encoder, List<String> texts, Role role, String what) {
        float[][] out = new float[texts.size()][];
        long start = System.nanoTime();
        int batch = 64;
        for (int from = 0; from < texts.size(); from += batch) {
            int to = Math.min(texts.size(), from + batch);
            float[][] part = encoder.encode(texts.subList(from, to), role);
            System.arraycopy(part, 0, out, from, part.length);
            double s = (System.nanoTime() - start) / 1e9;
            System.err.printf(Locale.ROOT, "\r%-8s %d/%d  %.1f/s", what, to, texts.size(), to / s);
        }
        System.err.println();
        return out;
    }
}

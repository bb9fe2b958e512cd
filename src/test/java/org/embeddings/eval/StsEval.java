package org.embeddings.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.StsPairs;

/**
 * STSBenchmark (test split) end to end: both sentences of each pair encoded with role {@code none}, through a real
 * node's REST embed API ({@code --node}, what {@code eval.sh sts} runs) or the in-process {@link ModelRegistry},
 * scored by cosine, and the Spearman correlation between those scores and the gold scores
 * compared with the model's published MTEB figure.
 *
 * <p>The pairs are read and scored by {@link StsPairs}.
 *
 * <p>Run from the project root after {@code mvn test-compile} (which also lays out {@code target/models}), one
 * model per JVM to keep memory low; the JNA properties are the ones the tests run with:
 * <pre>
 * mvn -q dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -Xmx2g -Djna.nosys=true -Djna.noclasspath=true -Djna.boot.library.path=/nonexistent \
 *     -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) org.embeddings.eval.StsEval \
 *     [--models target/models] [--data ../shared/data/stsb/sts-test.csv] [model ...]
 * </pre>
 */
public final class StsEval {
    /** MTEB STSBenchmark test Spearman x 100, as published for each model. */
    static final Map<String, Double> PUBLISHED = new LinkedHashMap<>();

    static {
        PUBLISHED.put("bge-small-en-v1.5", 85.86);
        PUBLISHED.put("e5-small-v2", 84.92);
        PUBLISHED.put("all-minilm-l6-v2", 82.03);
    }

    /** Spearman x 100 between gold scores and the cosines of the model's vectors. */
    public static double evaluate(Encoder encoder, List<StsPairs.Pair> pairs) {
        return StsPairs.spearman(texts -> encoder.encode(texts, Role.NONE), pairs);
    }

    /** The same through a real node's {@code POST /_plugins/_embeddings/embed}, role {@code none}. */
    static double evaluate(RealNode node, String model, List<StsPairs.Pair> pairs) {
        return StsPairs.spearman(
                texts -> {
                    JsonObject body = new JsonObject();
                    body.addProperty("model", model);
                    body.addProperty("role", "none");
                    JsonArray array = new JsonArray();
                    texts.forEach(array::add);
                    body.add("texts", array);
                    try {
                        RealNode.Response r = node.call("POST", "/_plugins/_embeddings/embed", body.toString());
                        if (r.status() != 200) {
                            throw new IllegalStateException(r.status() + " " + r.text());
                        }
                        JsonArray embeddings = r.body().getAsJsonObject().getAsJsonArray("embeddings");
                        float[][] out = new float[embeddings.size()][];
                        for (int i = 0; i < out.length; i++) {
                            JsonArray v = embeddings.get(i).getAsJsonArray();
                            out[i] = new float[v.size()];
                            for (int d = 0; d < out[i].length; d++) {
                                out[i][d] = v.get(d).getAsFloat();
                            }
                        }
                        return out;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                },
                pairs);
    }

    public static void main(String[] args) throws Exception {
        Path models = Path.of("target/models");
        Path data = Path.of("../shared/data/stsb/sts-test.csv");
        List<String> names = new ArrayList<>();
        boolean throughNode = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--models" -> models = Path.of(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--node" -> throughNode = true;
                default -> names.add(args[i]);
            }
        }
        if (names.isEmpty()) {
            names.addAll(PUBLISHED.keySet());
        }
        List<StsPairs.Pair> pairs = StsPairs.read(data);
        System.out.printf(Locale.ROOT, "%d pairs from %s%n", pairs.size(), data);
        System.out.printf(
                Locale.ROOT, "%-22s %9s %10s %7s %8s%n", "model", "spearman", "published", "delta", "seconds");
        if (throughNode) {
            // the published recipe end to end: a real node with the plugin, the REST embed API, role none
            try (RealNode node = RealNode.start("eval-sts", RealNode.port(56))) {
                for (String name : names) {
                    node.installModel(models, name);
                    long start = System.nanoTime();
                    print(name, evaluate(node, name, pairs), (System.nanoTime() - start) / 1e9);
                }
            }
            return;
        }
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            for (String name : names) {
                long start = System.nanoTime();
                print(name, evaluate(registry.encoder(name), pairs), (System.nanoTime() - start) / 1e9);
            }
        }
    }

    private static void print(String name, double spearman, double seconds) {
        Double published = PUBLISHED.get(name);
        System.out.printf(
                Locale.ROOT,
                "%-22s %9.2f %10s %7s %8.1f%n",
                name,
                spearman,
                published == null ? "-" : String.format(Locale.ROOT, "%.2f", published),
                published == null ? "-" : String.format(Locale.ROOT, "%+.2f", spearman - published),
                seconds);
    }
}

package org.embeddings.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.RealNode;

/**
 * This build of the plugin against a baseline build (another checkout's zip), on two real nodes side by side, in
 * interleaved rounds so that whatever else runs on the machine weighs on both alike: ingest docs/s through
 * {@code _bulk} + {@code embed} (SciFact documents, bulks of 100, one client) and {@code embed_knn} latency (one
 * client, SciFact queries not seen before, so each is encoded), each node first in every other round. Prints each
 * round and the totals, as this build's figure over the baseline's.
 *
 * <p>Usage: {@code src/scripts/bench.sh ingest-ab BASELINE_ZIP [DOCS] [ROUNDS]} (500 documents, 4 rounds).
 */
public final class IngestAbBench {
    public static void main(String[] args) throws Exception {
        Path baselineZip = Path.of(args[0]).toAbsolutePath();
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        List<String> texts = EncoderBench.scifact(data, docs);
        List<String> queries = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            queries.add(
                    JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
        }
        try (RealNode baseline = RealNode.start(
                        "ab-baseline", RealNode.port(85), Map.of("EMBEDDINGS_PLUGIN_ZIP", baselineZip.toString()));
                RealNode candidate = RealNode.start("ab-candidate", RealNode.port(86))) {
            RealNode[] nodes = {baseline, candidate};
            for (RealNode node : nodes) {
                NodeWorkload.ok(node.call("PUT", "/ab", """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": {"properties": {"body": {"type": "text"},
                       "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
                NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/ab", """
                    {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
                NodeWorkload.ingest(node, "/ab/_bulk?pipeline=ab", texts.subList(0, 8)); // loads the model
            }
            System.out.printf(
                    Locale.ROOT,
                    "baseline %s; %d SciFact documents and %d queries per node, %d rounds%n",
                    baselineZip,
                    docs,
                    Math.min(queries.size(), rounds * 40),
                    rounds);
            double[][] ingestSeconds = new double[2][rounds];
            List<List<Double>> latencies = List.of(new ArrayList<>(), new ArrayList<>());
            for (int r = 0; r < rounds; r++) {
                List<String> chunk = texts.subList(r * texts.size() / rounds, (r + 1) * texts.size() / rounds);
                List<String> bodies = new ArrayList<>();
                for (String q : queries.subList(r * 40, Math.min(queries.size(), (r + 1) * 40))) {
                    bodies.add(knn(q));
                }
                for (int k = 0; k < 2; k++) {
                    int n = (r + k) % 2; // the baseline first in even rounds, this build first in odd ones
                    long t0 = System.nanoTime();
                    NodeWorkload.ingest(nodes[n], "/ab/_bulk?pipeline=ab", chunk);
                    ingestSeconds[n][r] = (System.nanoTime() - t0) / 1e9;
                }
                for (int k = 0; k < 2; k++) {
                    int n = (r + k) % 2;
                    for (String body : bodies) {
                        long t0 = System.nanoTime();
                        NodeWorkload.ok(nodes[n].call("POST", "/ab/_search", body));
                        latencies.get(n).add((System.nanoTime() - t0) / 1e6);
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "round %d: ingest %.1f vs %.1f docs/s%n",
                        r + 1,
                        chunk.size() / ingestSeconds[0][r],
                        chunk.size() / ingestSeconds[1][r]);
            }
            double[] docsPerSecond = new double[2];
            double[] p50 = new double[2];
            for (int n = 0; n < 2; n++) {
                docsPerSecond[n] =
                        texts.size() / Arrays.stream(ingestSeconds[n]).sum();
                double[] ms = latencies.get(n).stream()
                        .mapToDouble(Double::doubleValue)
                        .sorted()
                        .toArray();
                p50[n] = ms[(int) Math.ceil(0.5 * ms.length) - 1];
            }
            System.out.printf(
                    Locale.ROOT,
                    "%n| one run, %d rounds interleaved | %s | %s | this build / baseline |%n|---|---|---|---|%n",
                    rounds,
                    "baseline",
                    "this build");
            System.out.printf(
                    Locale.ROOT,
                    "| %d SciFact documents, _bulk + embed, docs/s | %.2f | %.2f | %.2fx |%n",
                    texts.size(),
                    docsPerSecond[0],
                    docsPerSecond[1],
                    docsPerSecond[1] / docsPerSecond[0]);
            System.out.printf(
                    Locale.ROOT,
                    "| embed_knn p50, one client, new query texts, ms | %.1f | %.1f | %.2fx |%n",
                    p50[0],
                    p50[1],
                    p50[1] / p50[0]);
        }
    }

    private static String knn(String query) {
        JsonObject text = new JsonObject();
        text.addProperty("query_text", query);
        text.addProperty("k", 10);
        JsonObject field = new JsonObject();
        field.add("vec", text);
        JsonObject knn = new JsonObject();
        knn.add("embed_knn", field);
        JsonObject body = new JsonObject();
        body.addProperty("size", 10);
        body.addProperty("_source", false);
        body.add("query", knn);
        return body.toString();
    }

    private IngestAbBench() {}
}

package org.embeddings.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.embeddings.testkit.RealNode;

/**
 * One {@code _bulk} of many one-word documents through {@code embed}, on a real node with a 768 MB heap and the three
 * Maven Central models installed (bge-small-en-v1.5 bundled, e5-small-v2 and all-minilm-l6-v2 copied in, each loaded
 * once before the bulk): does the node answer, with every item 201 or 429, stay up, and does every 201 document hold
 * its vector? A sampler reads the node's heap and the plugin's breaker from {@code _nodes/stats} every 250 ms while
 * the bulk runs; the node's log is searched for an out-of-memory error afterwards.
 *
 * <p>Usage: {@code src/scripts/bench.sh pressure-bulk [DOCS]} (100,000 by default); {@code -Dbench.heap} sets the
 * heap options (default {@code -Xms768m -Xmx768m}).
 */
public final class PressureBulkBench {
    public static void main(String[] args) throws Exception {
        if (System.getProperty("embeddings.http.timeout.minutes") == null) {
            System.setProperty("embeddings.http.timeout.minutes", "30"); // the bulk, answered or not, within this
        }
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        String heap = System.getProperty("bench.heap", "-Xms768m -Xmx768m");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        try (RealNode node = RealNode.startWithHeap("pressure", RealNode.port(90), heap)) {
            node.installModel(models, "e5-small-v2");
            node.installModel(models, "all-minilm-l6-v2");
            for (String model : new String[] {"bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2"}) {
                NodeWorkload.ok(node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"" + model + "\", \"role\": \"passage\", \"texts\": [\"load\"]}"));
            }
            NodeWorkload.ok(node.call("PUT", "/pressure", """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"},
                   "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/pressure", """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
            StringBuilder bulk = new StringBuilder();
            for (int i = 0; i < docs; i++) {
                bulk.append("{\"index\":{}}\n{\"body\":\"word").append(i).append("\"}\n");
            }
            long heapBefore = NodeWorkload.heapUsed(node);
            System.out.printf(
                    Locale.ROOT,
                    "node heap %s, three models loaded, heap used %.0f MB; one _bulk of %,d one-word documents"
                            + " (%.1f MB)%n",
                    heap,
                    heapBefore / 1e6,
                    docs,
                    bulk.length() / 1e6);

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong heapPeak = new AtomicLong();
            AtomicLong heapMax = new AtomicLong();
            AtomicLong breakerPeak = new AtomicLong();
            AtomicLong missedSamples = new AtomicLong();
            Thread sampler = new Thread(
                    () -> {
                        while (running.get()) {
                            try {
                                JsonObject stats =
                                        localNode(node.call("GET", "/_nodes/_local/stats/jvm,breaker", null));
                                JsonObject mem = stats.getAsJsonObject("jvm").getAsJsonObject("mem");
                                heapPeak.accumulateAndGet(
                                        mem.get("heap_used_in_bytes").getAsLong(), Math::max);
                                heapMax.set(mem.get("heap_max_in_bytes").getAsLong());
                                JsonObject breaker =
                                        stats.getAsJsonObject("breakers").getAsJsonObject("embeddings");
                                if (breaker != null) {
                                    breakerPeak.accumulateAndGet(
                                            breaker.get("estimated_size_in_bytes")
                                                    .getAsLong(),
                                            Math::max);
                                }
                            } catch (Exception e) {
                                missedSamples.incrementAndGet();
                            }
                            try {
                                Thread.sleep(250);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    },
                    "heap-sampler");
            sampler.setDaemon(true);
            sampler.start();

            long t0 = System.nanoTime();
            Map<Integer, Integer> statuses = new TreeMap<>();
            String answer;
            String firstRefusal = null;
            try {
                RealNode.Response r =
                        node.call("POST", "/pressure/_bulk?pipeline=pressure", bulk.toString(), "application/x-ndjson");
                answer = "HTTP " + r.status();
                if (r.status() == 200) {
                    for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
                        JsonObject result = item.getAsJsonObject().getAsJsonObject("index");
                        int status = result.get("status").getAsInt();
                        statuses.merge(status, 1, Integer::sum);
                        if (status != 201 && firstRefusal == null) {
                            firstRefusal = result.getAsJsonObject("error")
                                    .get("reason")
                                    .getAsString();
                        }
                    }
                } else {
                    firstRefusal = r.text();
                }
            } catch (Exception e) {
                answer = "no answer: " + e;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            running.set(false);
            sampler.join();

            boolean up;
            try {
                up = node.call("GET", "/", null).status() == 200;
            } catch (Exception e) {
                up = false;
            }
            String log = node.log();
            boolean oom = log.contains("java.lang.OutOfMemoryError"); // not the JVM flag HeapDumpOnOutOfMemoryError
            System.out.printf(Locale.ROOT, "%n%-44s %s%n", "bulk answered", answer);
            System.out.printf(Locale.ROOT, "%-44s %.1f s%n", "time to answer", seconds);
            System.out.printf(Locale.ROOT, "%-44s %s%n", "items by status", statuses);
            if (firstRefusal != null) {
                System.out.printf(
                        Locale.ROOT,
                        "%-44s %s%n",
                        "first refusal",
                        firstRefusal.substring(0, Math.min(240, firstRefusal.length())));
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-44s %.0f MB of %.0f MB (%d samples missed)%n",
                    "heap used, peak sampled",
                    heapPeak.get() / 1e6,
                    heapMax.get() / 1e6,
                    missedSamples.get());
            System.out.printf(
                    Locale.ROOT, "%-44s %.1f MB%n", "embeddings breaker, peak sampled", breakerPeak.get() / 1e6);
            System.out.printf(Locale.ROOT, "%-44s %s%n", "node up afterwards", up);
            System.out.printf(Locale.ROOT, "%-44s %s%n", "OutOfMemoryError in the node log", oom);
            if (up) {
                NodeWorkload.ok(node.call("POST", "/pressure/_refresh", null));
                long stored = count(node, "{\"query\": {\"match_all\": {}}}");
                long withVector = count(node, "{\"query\": {\"exists\": {\"field\": \"vec\"}}}");
                System.out.printf(
                        Locale.ROOT, "%-44s %,d stored, %,d with a vector%n", "documents", stored, withVector);
                JsonObject breaker = localNode(node.call("GET", "/_nodes/_local/stats/breaker", null))
                        .getAsJsonObject("breakers")
                        .getAsJsonObject("embeddings");
                if (breaker != null) {
                    System.out.printf(
                            Locale.ROOT,
                            "%-44s %s bytes held, limit %s, tripped %s times%n",
                            "embeddings breaker afterwards",
                            breaker.get("estimated_size_in_bytes").getAsString(),
                            breaker.get("limit_size").getAsString(),
                            breaker.get("tripped").getAsString());
                }
            }
        }
    }

    private static JsonObject localNode(RealNode.Response r) {
        return r.body()
                .getAsJsonObject()
                .getAsJsonObject("nodes")
                .entrySet()
                .iterator()
                .next()
                .getValue()
                .getAsJsonObject();
    }

    private static long count(RealNode node, String query) throws Exception {
        return node.call("POST", "/pressure/_count", query)
                .body()
                .getAsJsonObject()
                .get("count")
                .getAsLong();
    }

    private PressureBulkBench() {}
}

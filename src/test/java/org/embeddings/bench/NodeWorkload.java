package org.embeddings.bench;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.embeddings.testkit.RealNode;

/** The workloads and probes the node benchmarks share: bulk ingest, concurrent queries, resident and heap memory. */
final class NodeWorkload {
    private NodeWorkload() {}

    /** Bulk-indexes {@code texts} as {@code {"body": text}} in bulks of 100 from one client; returns docs/s. */
    static double ingest(RealNode node, String bulkPath, List<String> texts) throws Exception {
        long t0 = System.nanoTime();
        for (int from = 0; from < texts.size(); from += 100) {
            StringBuilder bulk = new StringBuilder();
            for (int i = from; i < Math.min(texts.size(), from + 100); i++) {
                JsonObject source = new JsonObject();
                source.addProperty("body", texts.get(i));
                bulk.append("{\"index\": {}}\n").append(source).append('\n');
            }
            RealNode.Response r = node.call("POST", bulkPath, bulk.toString(), "application/x-ndjson");
            ok(r);
            if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                throw new IllegalStateException(
                        r.text().substring(0, Math.min(2000, r.text().length())));
            }
        }
        return texts.size() / ((System.nanoTime() - t0) / 1e9);
    }

    /** Sends each search body once, spread over {@code clients} threads; returns p50 and p99 in ms and queries/s. */
    static double[] queries(RealNode node, String path, List<String> bodies, int clients) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Double>> calls = new ArrayList<>();
            long t0 = System.nanoTime();
            for (String body : bodies) {
                calls.add(pool.submit(() -> {
                    long s = System.nanoTime();
                    ok(node.call("POST", path, body));
                    return (System.nanoTime() - s) / 1e6;
                }));
            }
            double[] ms = new double[calls.size()];
            for (int i = 0; i < ms.length; i++) {
                ms[i] = calls.get(i).get();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Arrays.sort(ms);
            return new double[] {
                ms[(int) Math.ceil(0.5 * ms.length) - 1], ms[(int) Math.ceil(0.99 * ms.length) - 1], ms.length / seconds
            };
        } finally {
            pool.shutdown();
        }
    }

    /** Resident memory of a process, from /proc. */
    static long rss(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    static long pid(Path nodeDir) throws Exception {
        return Long.parseLong(Files.readString(nodeDir.resolve("pid")).trim());
    }

    static long heapUsed(RealNode node) throws Exception {
        JsonObject nodes = node.call("GET", "/_nodes/_local/stats/jvm", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        return nodes.entrySet()
                .iterator()
                .next()
                .getValue()
                .getAsJsonObject()
                .getAsJsonObject("jvm")
                .getAsJsonObject("mem")
                .get("heap_used_in_bytes")
                .getAsLong();
    }

    static void ok(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + r.text());
        }
    }
}

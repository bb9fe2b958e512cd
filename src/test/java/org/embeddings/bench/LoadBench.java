package org.embeddings.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.embeddings.testkit.RealNode;

/**
 * Concurrent bulk ingest through the {@code embed} pipeline while {@code embed_knn} queries run, on a real node with
 * a small heap: every document must end up indexed or reported failed (counted), nothing but 429 may be a 5xx-like
 * refusal, and the heap must stay bounded (sampled from {@code _nodes/stats} throughout). Rejected bulks (429) are
 * retried after a pause, as a client following OpenSearch's advice would.
 *
 * <p>Every query text is new (never in the query-vector cache), so each query waits for the encoder. Before the load
 * starts, the same kind of queries run on the idle node: the ratio of the two p50s is what the query lane buys.
 *
 * <p>Usage: {@code src/scripts/bench.sh load [CLIENTS] [DOCS_PER_CLIENT] [MODEL]} (default 4 x 2,000 with
 * bge-small-en-v1.5; the full size is 4 x 20,000, about ten times longer). {@code -Dbench.node.settings=k=v,...}
 * adds node settings, for example {@code embeddings.onnx.allow_spinning=false}.
 */
public final class LoadBench {
    /** An embed_knn query whose text no other query used, so the query-vector cache never answers it. */
    private static String uncachedQuery(int q) {
        return "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"notes about topic " + Math.floorMod(q, 97)
                + ", question " + q + "\", \"k\": 10}}}}";
    }

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int perClient = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        String model = args.length > 2 ? args[2] : "bge-small-en-v1.5";
        int bulkSize = 100;
        String settings = System.getProperty("bench.node.settings", "");
        try (RealNode node =
                RealNode.start("load", RealNode.port(90), settings.isEmpty() ? new String[0] : settings.split(","))) {
            NodeWorkload.ok(node.call("PUT", "/load", String.format(Locale.ROOT, """
                {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", model)));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/load", String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", model)));
            // warm up: the model loads, a first bulk lands, then the idle baseline of uncached queries
            StringBuilder warm = new StringBuilder();
            for (int i = 0; i < bulkSize; i++) {
                warm.append("{\"index\": {\"_id\": \"warm-")
                        .append(i)
                        .append("\"}}\n{\"body\": \"warm-up note ")
                        .append(i)
                        .append(" about topic ")
                        .append(i % 97)
                        .append(".\"}\n");
            }
            NodeWorkload.ok(node.call(
                    "POST", "/load/_bulk?pipeline=load&refresh=true", warm.toString(), "application/x-ndjson"));
            List<Long> idleMillis = new ArrayList<>();
            for (int q = 0; q < 60; q++) {
                long s = System.nanoTime();
                NodeWorkload.ok(node.call("POST", "/load/_search", uncachedQuery(-1 - q)));
                idleMillis.add((System.nanoTime() - s) / 1_000_000);
            }
            idleMillis.sort(null);
            ConcurrentHashMap.KeySetView<String, Boolean> acked = ConcurrentHashMap.newKeySet();
            ConcurrentHashMap.KeySetView<String, Boolean> failed = ConcurrentHashMap.newKeySet();
            ConcurrentLinkedQueue<String> badStatuses = new ConcurrentLinkedQueue<>();
            AtomicLong rejectedBulks = new AtomicLong();
            AtomicLong maxHeap = new AtomicLong();
            AtomicBoolean done = new AtomicBoolean();
            List<Long> queryMillis = Collections.synchronizedList(new ArrayList<>());
            long t0 = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int from = 0; from < perClient; from += bulkSize) {
                            StringBuilder bulk = new StringBuilder();
                            for (int i = from; i < Math.min(perClient, from + bulkSize); i++) {
                                bulk.append("{\"index\": {\"_id\": \"c")
                                        .append(client)
                                        .append('-')
                                        .append(i)
                                        .append("\"}}\n");
                                bulk.append("{\"body\": \"Client ")
                                        .append(client)
                                        .append(" writes note ")
                                        .append(i)
                                        .append(" about topic ")
                                        .append(i % 97)
                                        .append(" and its details.\"}\n");
                            }
                            RealNode.Response r = node.call(
                                    "POST", "/load/_bulk?pipeline=load", bulk.toString(), "application/x-ndjson");
                            if (r.status() == 429) {
                                rejectedBulks.incrementAndGet();
                                Thread.sleep(200);
                                from -= bulkSize;
                                continue;
                            }
                            if (r.status() != 200) {
                                badStatuses.add(Integer.toString(r.status()));
                                continue;
                            }
                            for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
                                JsonObject result = item.getAsJsonObject().getAsJsonObject("index");
                                int status = result.get("status").getAsInt();
                                (status == 201 || status == 200 ? acked : failed)
                                        .add(result.get("_id").getAsString());
                                if (status >= 500 || (status >= 400 && status != 429)) {
                                    badStatuses.add(status + " " + result);
                                }
                            }
                        }
                    } catch (Exception e) {
                        badStatuses.add(e.toString());
                    }
                }));
            }
            Thread queries = Thread.ofPlatform().start(() -> {
                int q = 0;
                while (done.get() == false) {
                    try {
                        long s = System.nanoTime();
                        RealNode.Response r = node.call("POST", "/load/_search", uncachedQuery(q++));
                        if (r.status() != 200 && r.status() != 429) {
                            badStatuses.add("query " + r.status() + " " + r.text());
                        }
                        queryMillis.add((System.nanoTime() - s) / 1_000_000);
                        maxHeap.accumulateAndGet(NodeWorkload.heapUsed(node), Math::max);
                    } catch (Exception e) {
                        badStatuses.add("query " + e);
                    }
                }
            });
            for (Thread t : threads) {
                t.join();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            done.set(true);
            queries.join();
            NodeWorkload.ok(node.call("POST", "/load/_refresh", null));
            long count = node.call("GET", "/load/_count", null)
                    .body()
                    .getAsJsonObject()
                    .get("count")
                    .getAsLong();
            long pid = NodeWorkload.pid(node.dir());
            List<Long> sorted = new ArrayList<>(queryMillis);
            sorted.sort(null);
            System.out.printf(
                    Locale.ROOT,
                    "%d clients x %d documents in bulks of %d, queries running throughout, node heap 1 GB%n",
                    clients,
                    perClient,
                    bulkSize);
            System.out.printf(
                    Locale.ROOT,
                    "sent %d, acknowledged %d, reported failed %d, in the index %d (besides the %d warm-up documents)%n",
                    clients * perClient,
                    acked.size(),
                    failed.size(),
                    count - bulkSize,
                    bulkSize);
            System.out.printf(
                    Locale.ROOT,
                    "bulks answered 429 and retried: %d; other errors: %d %s%n",
                    rejectedBulks.get(),
                    badStatuses.size(),
                    badStatuses.stream().limit(5).toList());
            long loadedP50 = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
            long idleP50 = idleMillis.get(idleMillis.size() / 2);
            System.out.printf(
                    Locale.ROOT,
                    "model %s: ingest %.1f docs/s over %.0f s; %d uncached queries under load, p50 %d ms, p99 %d ms%n",
                    model,
                    acked.size() / seconds,
                    seconds,
                    sorted.size(),
                    loadedP50,
                    sorted.isEmpty() ? 0 : sorted.get((int) Math.ceil(sorted.size() * 0.99) - 1));
            System.out.printf(
                    Locale.ROOT,
                    "uncached query p50 idle %d ms, under load %d ms: %.2fx idle%n",
                    idleP50,
                    loadedP50,
                    (double) loadedP50 / idleP50);
            System.out.printf(
                    Locale.ROOT,
                    "max heap used %.0f MB of 1024; node RSS at the end %.0f MB%n",
                    maxHeap.get() / 1e6,
                    NodeWorkload.rss(pid) / 1e6);
            if (acked.size() + failed.size() != (long) clients * perClient
                    || count != acked.size() + bulkSize
                    || badStatuses.isEmpty() == false) {
                throw new IllegalStateException("books do not balance");
            }
        }
    }
}

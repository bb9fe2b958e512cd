package org.embeddings.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.embeddings.it.RealNode;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Concurrent bulk ingest through the {@code embed} pipeline while {@code embed_knn} queries run, on a real node with
 * a small heap: every document must end up indexed or reported failed (counted), nothing but 429 may be a 5xx-like
 * refusal, and the heap must stay bounded (sampled from {@code _nodes/stats} throughout). Rejected bulks (429) are
 * retried after a pause, as a client following OpenSearch's advice would.
 *
 * <p>Usage: {@code src/scripts/bench.sh load [CLIENTS] [DOCS_PER_CLIENT]} (default 4 x 2,000; the full size
 * is 4 x 20,000, about ten times longer).
 */
public final class LoadBench {
    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int perClient = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int bulkSize = 100;
        try (RealNode node = RealNode.start("load", RealNode.port(90))) {
            NodeWorkload.ok(node.call("PUT", "/load", """
                {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}"""));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/load", """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
            ConcurrentHashMap.KeySetView<String, Boolean> acked = ConcurrentHashMap.newKeySet();
            ConcurrentHashMap.KeySetView<String, Boolean> failed = ConcurrentHashMap.newKeySet();
            ConcurrentLinkedQueue<String> badStatuses = new ConcurrentLinkedQueue<>();
            AtomicLong rejectedBulks = new AtomicLong();
            AtomicLong maxHeap = new AtomicLong();
            AtomicBoolean done = new AtomicBoolean();
            List<Long> queryMillis = java.util.Collections.synchronizedList(new ArrayList<>());
            long t0 = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int from = 0; from < perClient; from += bulkSize) {
                            StringBuilder bulk = new StringBuilder();
                            for (int i = from; i < Math.min(perClient, from + bulkSize); i++) {
                                bulk.append("{\"index\": {\"_id\": \"c").append(client).append('-').append(i).append("\"}}\n");
                                bulk.append("{\"body\": \"Client ").append(client).append(" writes note ").append(i)
                                    .append(" about topic ").append(i % 97).append(" and its details.\"}\n");
                            }
                            RealNode.Response r = node.call("POST", "/load/_bulk?pipeline=load", bulk.toString(), "application/x-ndjson");
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
                                (status == 201 || status == 200 ? acked : failed).add(result.get("_id").getAsString());
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
                        RealNode.Response r = node.call("POST", "/load/_search", "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"notes about topic "
                            + (q++ % 97) + "\", \"k\": 10}}}}");
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
            long count = node.call("GET", "/load/_count", null).body().getAsJsonObject().get("count").getAsLong();
            long pid = NodeWorkload.pid(node.dir());
            List<Long> sorted = new ArrayList<>(queryMillis);
            sorted.sort(null);
            System.out.printf("%d clients x %d documents in bulks of %d, queries running throughout, node heap 1 GB%n", clients, perClient, bulkSize);
            System.out.printf("sent %d, acknowledged %d, reported failed %d, in the index %d%n", clients * perClient, acked.size(), failed.size(), count);
            System.out.printf("bulks answered 429 and retried: %d; other errors: %d %s%n", rejectedBulks.get(), badStatuses.size(),
                badStatuses.stream().limit(5).toList());
            System.out.printf("ingest %.1f docs/s over %.0f s; %d queries, p50 %d ms, p99 %d ms%n", acked.size() / seconds, seconds, sorted.size(),
                sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2), sorted.isEmpty() ? 0 : sorted.get((int) Math.ceil(sorted.size() * 0.99) - 1));
            System.out.printf("max heap used %.0f MB of 1024; node RSS at the end %.0f MB%n", maxHeap.get() / 1e6, NodeWorkload.rss(pid) / 1e6);
            if (acked.size() + failed.size() != (long) clients * perClient || count != acked.size() || badStatuses.isEmpty() == false) {
                throw new IllegalStateException("books do not balance");
            }
        }
    }
}

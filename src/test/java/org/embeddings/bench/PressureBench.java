package org.embeddings.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.embeddings.testkit.RealNode;

/**
 * The query side of a node under pressure, on one real node with a small heap (768 MB unless
 * {@code -Dbench.heap=...}) and bge-small-en-v1.5 and e5-small-v2 installed, in five phases, each printing its
 * figures:
 * <ol>
 *   <li><b>ingest</b>: {@code _bulk} through {@code embed}, one client, bulks of 100 short texts: docs/s;</li>
 *   <li><b>idle</b>: one client sends uncached {@code embed_knn} queries on a bge-bound field: p50, p99;</li>
 *   <li><b>first int8 query</b>: while that client keeps going, another sends the first query that names
 *       {@code e5-small-v2-int8} on a field no model is bound to; its status and time, and the client's p50, p99,
 *       worst and errors from then until that query is answered and 2 s after (a refusal at once leaves only the 2 s),
 *       against the idle p50;</li>
 *   <li><b>long texts</b>: {@code SEARCHES} searches (300) with distinct query texts of {@code KB} KB (512) from 8
 *       clients: statuses, time, the heap's peak sampled every 200 ms, whether the node is up after, the query
 *       cache;</li>
 *   <li><b>fairness</b>: 8 clients send uncached queries without pause while one client sends bulks of 50 short
 *       texts for 20 s: documents/s under that load against the idle ingest, the queries' p50.</li>
 * </ol>
 * It runs against whichever plugin zip {@code -Dembeddings.plugin.zip} names, so the same command measures a build
 * before and after a change; it reads the plugin's stats leniently (an older build lacks some fields).
 *
 * <p>Usage: {@code src/scripts/bench.sh pressure-queries [SEARCHES] [KB]}; {@code -Dbench.node.settings=k=v,...}
 * adds node settings (for example {@code embeddings.models.load_on_query=true}); {@code -Dbench.phases=int8,long,fair}
 * picks phases 3 to 5 (1 and 2 always run: the others are measured against them).
 */
public final class PressureBench {
    private static final String UNBOUND_INT8 = "e5-small-v2-int8";

    private record Timed(long startNanos, long millis, int status) {}

    public static void main(String[] args) throws Exception {
        int searches = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int kb = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        String heap = System.getProperty("bench.heap", "-Xms768m -Xmx768m");
        String settings = System.getProperty("bench.node.settings", "");
        try (RealNode node = RealNode.startWithHeap(
                "pressure-bench", RealNode.port(92), heap, settings.isEmpty() ? new String[0] : settings.split(","))) {
            node.installModel(Path.of(System.getProperty("embeddings.test.models")), "e5-small-v2");
            NodeWorkload.ok(node.call("PUT", "/docs", """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"properties": {"body": {"type": "text"},
                   "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}, "free": {"type": "embedding", "dims": 384}}}}"""));
            NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/embed", """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
            System.out.printf(Locale.ROOT, "node heap %s, settings [%s]%n", heap, settings);

            // 1. ingest
            NodeWorkload.ingest(node, "/docs/_bulk?pipeline=embed", texts(0, 100)); // loads the model
            double ingest = NodeWorkload.ingest(node, "/docs/_bulk?pipeline=embed&refresh=true", texts(100, 600));
            System.out.printf(
                    Locale.ROOT, "ingest, 600 short texts in bulks of 100, one client: %.1f docs/s%n", ingest);

            // 2. idle
            AtomicInteger q = new AtomicInteger();
            List<Timed> idle = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                idle.add(timed(node, "/docs/_search", uncached("vec", q.incrementAndGet())));
            }
            double idleP50 = percentile(idle, 50);
            System.out.printf(
                    Locale.ROOT,
                    "idle: 100 uncached embed_knn queries, one client: p50 %.1f ms, p99 %.1f ms%n",
                    idleP50,
                    percentile(idle, 99));

            List<String> phases =
                    List.of(System.getProperty("bench.phases", "int8,long,fair").split(","));
            // 3. the first query naming an int8 form on an unbound field, while a client runs
            if (phases.contains("int8")) {
                firstInt8Query(node, q, idleP50);
            }
            // 4. long query texts
            if (phases.contains("long")) {
                longTexts(node, searches, kb);
            }
            // 5. fairness
            if (phases.contains("fair")) {
                fairness(node, q, ingest);
            }
        }
    }

    private static List<String> texts(int from, int to) {
        List<String> texts = new ArrayList<>();
        for (int i = from; i < to; i++) {
            texts.add("Note " + i + " about topic " + (i % 97) + ": rivers, valleys and the weather of a region in"
                    + " spring, with its farms, its roads and its people.");
        }
        return texts;
    }

    private static String uncached(String field, int q) {
        return "{\"query\": {\"embed_knn\": {\"" + field + "\": {\"query_text\": \"notes about topic "
                + Math.floorMod(q, 97) + ", question " + q + "\", \"k\": 10}}}}";
    }

    private static Timed timed(RealNode node, String path, String body) throws Exception {
        long start = System.nanoTime();
        RealNode.Response r = node.call("POST", path, body);
        return new Timed(start, (System.nanoTime() - start) / 1_000_000, r.status());
    }

    private static double percentile(List<Timed> timed, double p) {
        if (timed.isEmpty()) {
            return 0;
        }
        List<Long> ms = new ArrayList<>(timed.stream().map(Timed::millis).toList());
        ms.sort(null);
        return ms.get((int) Math.ceil(p / 100 * ms.size()) - 1);
    }

    private static void firstInt8Query(RealNode node, AtomicInteger q, double idleP50) throws Exception {
        ConcurrentLinkedQueue<Timed> during = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread client = Thread.ofPlatform().start(() -> {
            while (stop.get() == false) {
                try {
                    during.add(timed(node, "/docs/_search", uncached("vec", q.incrementAndGet())));
                } catch (Exception e) {
                    during.add(new Timed(System.nanoTime(), 0, -1));
                }
            }
        });
        Thread.sleep(2_000);
        during.clear();
        long start = System.nanoTime();
        RealNode.Response first = node.call(
                "POST",
                "/docs/_search",
                "{\"query\": {\"embed_knn\": {\"free\": {\"query_text\": \"where do glaciers flow\", \"model\": \""
                        + UNBOUND_INT8 + "\", \"k\": 5}}}}");
        long end = System.nanoTime();
        Thread.sleep(2_000);
        stop.set(true);
        client.join();
        List<Timed> window =
                during.stream().filter(t -> t.startNanos() >= start).toList();
        long errors = window.stream().filter(t -> t.status() != 200).count();
        String reason = first.status() == 200
                ? ""
                : first.text().substring(0, Math.min(160, first.text().length()));
        System.out.printf(
                Locale.ROOT,
                "first query naming %s on an unbound field: %d in %d ms %s%n",
                UNBOUND_INT8,
                first.status(),
                (end - start) / 1_000_000,
                reason);
        List<Timed> whileAnswering =
                window.stream().filter(t -> t.startNanos() < end).toList();
        System.out.printf(
                Locale.ROOT,
                "the other client from then until 2 s after it was answered: %d queries, p50 %.1f ms (%.2fx idle),"
                        + " p99 %.1f ms, worst %d ms, errors %d; started before it was answered: %d, p50 %.1f ms,"
                        + " worst %d ms%n",
                window.size(),
                percentile(window, 50),
                percentile(window, 50) / idleP50,
                percentile(window, 99),
                window.stream().mapToLong(Timed::millis).max().orElse(0),
                errors,
                whileAnswering.size(),
                percentile(whileAnswering, 50),
                whileAnswering.stream().mapToLong(Timed::millis).max().orElse(0));
    }

    private static void longTexts(RealNode node, int searches, int kb) throws Exception {
        AtomicInteger next = new AtomicInteger();
        Map<Integer, Integer> statuses = Collections.synchronizedMap(new TreeMap<>());
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong peakHeap = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        Thread sampler = Thread.ofPlatform().start(() -> {
            while (done.get() == false) {
                try {
                    peakHeap.accumulateAndGet(NodeWorkload.heapUsed(node), Math::max);
                    Thread.sleep(200);
                } catch (Exception e) {
                    failures.add("heap sample: " + e);
                    return;
                }
            }
        });
        long t0 = System.nanoTime();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
            clients.add(Thread.ofPlatform().start(() -> {
                for (int i; (i = next.getAndIncrement()) < searches; ) {
                    try {
                        Random random = new Random(1000 + i);
                        StringBuilder text = new StringBuilder(kb * 1024 + 32);
                        while (text.length() < kb * 1024) {
                            text.append("term")
                                    .append(random.nextInt(1_000_000))
                                    .append(' ');
                        }
                        String body = "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"" + text
                                + "\", \"k\": 10}}}}";
                        RealNode.Response r = node.call("POST", "/docs/_search", body);
                        statuses.merge(r.status(), 1, Integer::sum);
                        if (r.status() >= 500 && failures.size() < 3) {
                            failures.add(
                                    r.text().substring(0, Math.min(300, r.text().length())));
                        }
                    } catch (Exception e) {
                        statuses.merge(-1, 1, Integer::sum);
                        failures.add(e.toString());
                    }
                }
            }));
        }
        for (Thread t : clients) {
            t.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        done.set(true);
        sampler.join();
        int up = node.call("GET", "/", null).status();
        JsonObject cache = stats(node).getAsJsonObject("query_cache");
        System.out.printf(
                Locale.ROOT,
                "%d searches with distinct %d KB query texts, 8 clients: statuses %s in %.1f s (%.1f searches/s);"
                        + " heap peak %d MB; node answers %d afterwards; query cache %s%s%n",
                searches,
                kb,
                statuses,
                seconds,
                searches / seconds,
                peakHeap.get() >> 20,
                up,
                cache,
                failures.isEmpty() ? "" : "; failures " + failures);
    }

    private static JsonObject stats(RealNode node) throws Exception {
        JsonObject nodes = node.call("GET", "/_plugins/_embeddings/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        return nodes.entrySet().iterator().next().getValue().getAsJsonObject();
    }

    private static void fairness(RealNode node, AtomicInteger q, double idleIngest) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Timed> queries = new ConcurrentLinkedQueue<>();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
            clients.add(Thread.ofPlatform().start(() -> {
                while (stop.get() == false) {
                    try {
                        queries.add(timed(node, "/docs/_search", uncached("vec", q.incrementAndGet())));
                    } catch (Exception e) {
                        queries.add(new Timed(System.nanoTime(), 0, -1));
                    }
                }
            }));
        }
        Thread.sleep(1_000);
        long t0 = System.nanoTime();
        long deadline = t0 + 20_000_000_000L;
        int acknowledged = 0;
        Map<Integer, Integer> itemStatuses = new TreeMap<>();
        for (int from = 1000; System.nanoTime() < deadline; from += 50) {
            StringBuilder bulk = new StringBuilder();
            for (String text : texts(from, from + 50)) {
                JsonObject source = new JsonObject();
                source.addProperty("body", text);
                bulk.append("{\"index\": {}}\n").append(source).append('\n');
            }
            RealNode.Response r =
                    node.call("POST", "/docs/_bulk?pipeline=embed", bulk.toString(), "application/x-ndjson");
            if (r.status() != 200) {
                itemStatuses.merge(r.status(), 50, Integer::sum);
                continue;
            }
            for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
                int status = item.getAsJsonObject()
                        .getAsJsonObject("index")
                        .get("status")
                        .getAsInt();
                itemStatuses.merge(status, 1, Integer::sum);
                if (status == 201) {
                    acknowledged++;
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (Thread t : clients) {
            t.join();
        }
        List<Timed> all = new ArrayList<>(queries);
        long errors = all.stream().filter(t -> t.status() != 200).count();
        System.out.printf(
                Locale.ROOT,
                "8 query clients without pause and one bulk client for %.0f s: %.1f docs/s (%.2fx the idle ingest),"
                        + " items %s; %d queries, p50 %.1f ms, p99 %.1f ms, errors %d%n",
                seconds,
                acknowledged / seconds,
                acknowledged / seconds / idleIngest,
                itemStatuses,
                all.size(),
                percentile(all, 50),
                percentile(all, 99),
                errors);
    }
}

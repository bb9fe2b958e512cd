package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.embeddings.testkit.RealNode;

/**
 * Scale-out on one machine: real nodes with explicit roles ({@code src/scripts/cluster.sh start-nodes}), where only the
 * nodes that encode hold the model's files.
 *
 * <ul>
 *   <li>node-1: {@code node.roles: [data, cluster_manager]}, started without any model file (the plugin's bundled
 *       model removed); checked through the models and stats APIs before and after the run;
 *   <li>node-2 and node-3: {@code node.roles: [ingest]}, the model installed and preloaded, each pinned to its own core
 *       ({@code taskset -c 0}, {@code taskset -c 1}), so each encodes with one ONNX Runtime thread;
 *   <li>node-4: {@code node.roles: []}, coordinating only, the model installed and preloaded.
 * </ul>
 *
 * <p>The data node and the coordinating node are left on both cores ({@code taskset -c 0-1}, overridable): the data
 * node indexes in both phases, a small fraction of the encoding work, and pinned to one core it would slow only
 * that core's ingest node in phase B; the coordinating node is idle while documents are ingested. So each core runs
 * one ingest node plus its share of the data node, the coordinating node and this client.
 *
 * <p>Ingest: {@code DOCS} SciFact documents through {@code _bulk?pipeline=} in bulks of 100 from 2 client threads,
 * bulk i to ingest node i mod N (client thread i mod 2 sends it), each phase into a fresh index: phase one with node-2
 * only (node-3 runs but gets nothing), phase two with both. The documents go in rounds of {@code bench.round.docs}
 * (400) documents, each round ingested by both phases, one then two in odd rounds, two then one in even ones, so that
 * whatever else runs on the machine weighs on both alike. Per phase the plugin's stats say which nodes encoded.
 *
 * <p>Queries: {@code bench.queries} (50) SciFact queries as {@code embed_knn} {@code query_text} through the
 * coordinating node, the same through the data node (which has no model: expected to be refused with a 400 naming
 * it), and a reference: each query's vector from the coordinating node's embed API, searched as {@code query_vector}
 * through the data node. Prints how many top-10 id lists are the same.
 *
 * <p>The pipeline is validated where it is put, on the elected cluster manager: with the data node as the only
 * cluster manager, a pipeline naming a model it lacks is refused. The run records that refusal, then places the
 * model's files on the data node for the {@code PUT} only and removes them before any document is sent.
 *
 * <p>Usage: {@code src/scripts/bench.sh scale-out [DOCS]} (1000). Properties: {@code bench.round.docs} (400),
 * {@code bench.queries} (50), {@code bench.heap} ({@code -Xms768m -Xmx768m} per node), {@code bench.cpus.data} and
 * {@code bench.cpus.coordinating} ({@code 0-1}).
 */
public final class ScaleOutBench {
    private static final String MODEL = "bge-small-en-v1.5-int8";
    /** The folder a node needs for {@link #MODEL}: its int8 form is derived at load from the fp32 model. */
    private static final String MODEL_FILES = "bge-small-en-v1.5";

    private static final String PIPELINE_ID = "scale-out";
    private static final String PIPELINE =
            "{\"processors\":[{\"embed\":{\"model\":\"" + MODEL + "\",\"field_map\":{\"body\":\"vec\"}}}]}";
    private static final String INDEX = "{\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0},"
            + " \"mappings\": {\"properties\": {\"body\": {\"type\": \"text\"},"
            + " \"vec\": {\"type\": \"embedding\", \"model\": \"" + MODEL + "\"}}}}";
    private static final int BULK = 100;
    private static final int CLIENTS = 2;

    /** A node of the topology: its part in this benchmark and the cores it is pinned to. */
    private record Member(String part, String roles, String cpus, RealNode node) {
        String name() {
            return "node-" + node.httpPort();
        }
    }

    public static void main(String[] args) throws Exception {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int roundDocs = Integer.getInteger("bench.round.docs", 400);
        int queryCount = Integer.getInteger("bench.queries", 50);
        String heap = System.getProperty("bench.heap", "-Xms768m -Xmx768m");
        String dataCpus = System.getProperty("bench.cpus.data", "0-1");
        String coordinatingCpus = System.getProperty("bench.cpus.coordinating", "0-1");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        List<String> texts = EncoderBench.scifact(data, docs);
        if (texts.size() < docs) {
            throw new IllegalArgumentException("SciFact has " + texts.size() + " documents, fewer than " + docs);
        }
        if (docs < 1 || roundDocs < 1 || queryCount < 1) {
            throw new IllegalArgumentException("DOCS, bench.round.docs and bench.queries must be positive");
        }
        List<String> queries = Int8RecipeBench.scifactQueries(data).subList(0, queryCount);
        if (docs % (BULK * 2) != 0 || roundDocs % (BULK * 2) != 0) {
            System.out.println("note: DOCS and bench.round.docs are best multiples of " + BULK * 2
                    + ", so that phase two gives both ingest nodes as many bulks");
        }

        int base = RealNode.port(10);
        Path dir = RealNode.workDir().resolve("scale-out");
        String cluster = RealNode.script().resolveSibling("cluster.sh").toString();
        String preload = "embeddings.models.preload=" + MODEL;
        List<String> specs = List.of(
                "data,cluster_manager/" + dataCpus + "/none",
                "ingest/0/bundled/" + preload,
                "ingest/1/bundled/" + preload,
                "-/" + coordinatingCpus + "/bundled/" + preload);
        List<String> start = new ArrayList<>(List.of("bash", cluster, "start-nodes", dir.toString(), "" + base));
        start.addAll(specs);

        AtomicBoolean stopped = new AtomicBoolean();
        AtomicReference<Process> starting = new AtomicReference<>();
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                try {
                    Process p = starting.get();
                    if (p != null && p.isAlive()) {
                        // interrupted while nodes start: let the start finish, so that no node comes up after the stop
                        System.err.println("waiting for the nodes' start to finish before stopping them");
                        p.waitFor(15, TimeUnit.MINUTES);
                    }
                    RealNode.run(List.of("bash", cluster, "stop", dir.toString()), Map.of());
                    System.out.println("all nodes stopped");
                } catch (Exception e) {
                    System.err.println("stopping the nodes in " + dir + " failed: " + e.getMessage());
                }
            }
        };
        Thread hook = new Thread(stop, "stop-nodes");
        Runtime.getRuntime().addShutdownHook(hook); // an interrupted run stops its nodes too
        try {
            long t0 = System.nanoTime();
            System.out.println("starting 4 nodes in " + dir + " (" + String.join(" ", specs) + ")");
            starting.set(RealNode.spawn(start, Map.of("NODE_HEAP", heap)));
            RealNode.await(starting.get(), start);
            List<Member> nodes = List.of(
                    new Member("data, no model", "data, cluster_manager", dataCpus, attach(dir, base, 1)),
                    new Member("ingest 1", "ingest", "0", attach(dir, base, 2)),
                    new Member("ingest 2", "ingest", "1", attach(dir, base, 3)),
                    new Member("coordinating only", "(none)", coordinatingCpus, attach(dir, base, 4)));
            for (Member m : nodes.subList(1, 4)) {
                awaitLoaded(m.node());
            }
            System.out.printf(
                    Locale.ROOT,
                    "cluster up, %s loaded on 3 nodes, in %.0f s%n",
                    MODEL,
                    (System.nanoTime() - t0) / 1e9);
            run(nodes, texts, queries, roundDocs, heap);
        } finally {
            stop.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }
    }

    private static RealNode attach(Path dir, int base, int i) {
        return RealNode.attach(dir.resolve("node-" + i), base + i);
    }

    private static void run(List<Member> nodes, List<String> texts, List<String> queries, int roundDocs, String heap)
            throws Exception {
        Member dataNode = nodes.get(0), ingest1 = nodes.get(1), ingest2 = nodes.get(2), coordinating = nodes.get(3);
        RealNode coord = coordinating.node();

        printTopology(nodes, heap);
        checkNoModel(dataNode, "before the run");

        // ---- the pipeline: validated on the elected cluster manager, the data node
        System.out.println();
        RealNode.Response put = coord.call("PUT", "/_ingest/pipeline/" + PIPELINE_ID, PIPELINE);
        if (put.status() != 200) {
            throw new IllegalStateException("PUT _ingest/pipeline/" + PIPELINE_ID + " through the coordinating node: "
                    + put.status() + ", " + reason(put) + "; the cluster manager (the data node, no ingest role)"
                    + " should accept a pipeline without the model's files");
        }
        System.out.println("PUT _ingest/pipeline/" + PIPELINE_ID + " through the coordinating node: 200, accepted"
                + " although the elected cluster manager (" + dataNode.name() + ", the data node) has no model files");
        checkNoModel(dataNode, "after the PUT");

        // ---- warm-up: every ingest node encodes a few documents, the coordinating node a query
        NodeWorkload.ok(coord.call("PUT", "/so-warm", INDEX));
        NodeWorkload.ok(coord.call("GET", "/_cluster/health/so-warm?wait_for_status=green&timeout=60s", null));
        for (Member m : List.of(ingest1, ingest2)) {
            ingest(List.of(m.node()), "so-warm", texts.subList(0, Math.min(20, texts.size())), 0);
        }
        NodeWorkload.ok(coord.call("POST", "/so-warm/_search", knnText("warm-up query")));

        // ---- phases one and two, interleaved rounds
        List<int[]> rounds = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += roundDocs) {
            rounds.add(new int[] {from, Math.min(texts.size(), from + roundDocs)});
        }
        double[][] seconds = new double[2][rounds.size()];
        Map<String, Long> encoded = new LinkedHashMap<>();
        System.out.printf(
                Locale.ROOT,
                "%n%d SciFact documents per phase in %d round(s), bulks of %d, %d client threads; phase one: bulks to"
                        + " %s; phase two: bulk i to %s if i is even, %s if odd%n",
                texts.size(),
                rounds.size(),
                BULK,
                CLIENTS,
                ingest1.name(),
                ingest1.name(),
                ingest2.name());
        for (int r = 0; r < rounds.size(); r++) {
            List<String> chunk = texts.subList(rounds.get(r)[0], rounds.get(r)[1]);
            for (int k = 0; k < 2; k++) {
                int phase = (r + k) % 2; // 0: one ingest node, 1: two; one first in odd rounds (1, 3, ...)
                String index = (phase == 0 ? "so-one-" : "so-two-") + (r + 1);
                NodeWorkload.ok(coord.call("PUT", "/" + index, INDEX));
                NodeWorkload.ok(
                        coord.call("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null));
                List<RealNode> targets = phase == 0 ? List.of(ingest1.node()) : List.of(ingest1.node(), ingest2.node());
                Map<String, Long> textsBefore = textsEncoded(coord);
                Map<String, Long> pipelineBefore = pipelineCounts(coord);
                seconds[phase][r] = ingest(targets, index, chunk, rounds.get(r)[0]);
                Map<String, Long> textsAfter = textsEncoded(coord);
                Map<String, Long> pipelineAfter = pipelineCounts(coord);
                StringBuilder where = new StringBuilder();
                for (Member m : nodes) {
                    long t = textsAfter.getOrDefault(m.name(), 0L) - textsBefore.getOrDefault(m.name(), 0L);
                    long p = pipelineAfter.getOrDefault(m.name(), 0L) - pipelineBefore.getOrDefault(m.name(), 0L);
                    if (t > 0) {
                        encoded.merge((phase == 0 ? "one: " : "two: ") + m.name(), t, Long::sum);
                    }
                    where.append(String.format(Locale.ROOT, " %s %d/%d,", m.name(), p, t));
                }
                System.out.printf(
                        Locale.ROOT,
                        "round %d, %s: %d docs in %.1f s, %.2f docs/s; per node, documents through the pipeline /"
                                + " texts encoded:%s%n",
                        r + 1,
                        phase == 0 ? "one ingest node " : "two ingest nodes",
                        chunk.size(),
                        seconds[phase][r],
                        chunk.size() / seconds[phase][r],
                        where.substring(0, where.length() - 1));
            }
        }
        NodeWorkload.ok(coord.call("POST", "/so-*/_refresh", null));
        for (String set : List.of("so-one-*", "so-two-*")) {
            long count = coord.call("GET", "/" + set + "/_count", null)
                    .body()
                    .getAsJsonObject()
                    .get("count")
                    .getAsLong();
            long withVectors = coord.call(
                            "POST", "/" + set + "/_count", "{\"query\": {\"exists\": {\"field\": \"vec\"}}}")
                    .body()
                    .getAsJsonObject()
                    .get("count")
                    .getAsLong();
            if (count != texts.size() || withVectors != texts.size()) {
                throw new IllegalStateException(
                        set + " holds " + count + " documents, " + withVectors + " with vectors, not " + texts.size());
            }
        }
        double one = texts.size() / Arrays.stream(seconds[0]).sum();
        double two = texts.size() / Arrays.stream(seconds[1]).sum();
        double[] perRound = new double[rounds.size()];
        for (int r = 0; r < rounds.size(); r++) {
            perRound[r] = seconds[0][r] / seconds[1][r];
        }
        System.out.printf(
                Locale.ROOT,
                "%n| ingest nodes (one run, %d round(s) interleaved) | SciFact documents | seconds | docs/s |%n"
                        + "|---|---|---|---|%n",
                rounds.size());
        System.out.printf(
                Locale.ROOT,
                "| one: %s (core 0) | %d | %.1f | %.2f |%n",
                ingest1.name(),
                texts.size(),
                Arrays.stream(seconds[0]).sum(),
                one);
        System.out.printf(
                Locale.ROOT,
                "| two, round-robin: %s (core 0), %s (core 1) | %d | %.1f | %.2f |%n",
                ingest1.name(),
                ingest2.name(),
                texts.size(),
                Arrays.stream(seconds[1]).sum(),
                two);
        System.out.printf(
                Locale.ROOT,
                "| **two / one** | | | **%.2fx** (per round: %s) |%n",
                two / one,
                Arrays.stream(perRound)
                        .mapToObj(x -> String.format(Locale.ROOT, "%.2fx", x))
                        .reduce((a, b) -> a + ", " + b)
                        .orElse(""));
        System.out.println("texts encoded over the measured phases, by phase and node (no other node encoded): "
                + encoded.toString().replace("{", "").replace("}", "").replace("=", " "));

        // ---- queries
        queries(dataNode, coordinating, queries);

        // ---- what each node did over the whole run
        System.out.println();
        Map<String, Long> textsAtEnd = textsEncoded(coord);
        for (Member m : nodes) {
            System.out.printf(
                    Locale.ROOT,
                    "%s (%s): %d texts encoded over the run, models loaded %s%n",
                    m.name(),
                    m.part(),
                    textsAtEnd.getOrDefault(m.name(), 0L),
                    models(m.node(), "loaded"));
        }
        checkNoModel(dataNode, "after the run");
    }

    private static void queries(Member dataNode, Member coordinating, List<String> queries) throws Exception {
        String path = "/so-one-*/_search";
        System.out.printf(
                Locale.ROOT,
                "%n%d SciFact queries, embed_knn k = 10 over so-one-* (every document once, %s's shards)%n",
                queries.size(),
                dataNode.name());
        List<List<String>> viaCoordinating = new ArrayList<>();
        List<List<Float>> coordinatingScores = new ArrayList<>();
        double[] ms = new double[queries.size()];
        for (int i = 0; i < queries.size(); i++) {
            long t0 = System.nanoTime();
            RealNode.Response r = coordinating.node().call("POST", path, knnText(queries.get(i)));
            ms[i] = (System.nanoTime() - t0) / 1e6;
            NodeWorkload.ok(r);
            viaCoordinating.add(ids(r));
            coordinatingScores.add(scores(r));
        }
        Arrays.sort(ms);
        System.out.printf(
                Locale.ROOT,
                "query_text through %s (coordinating only): %d answered, p50 %.1f ms (one client)%n",
                coordinating.name(),
                queries.size(),
                ms[(int) Math.ceil(0.5 * ms.length) - 1]);

        Map<Integer, Integer> statuses = new LinkedHashMap<>();
        String firstRefusal = null;
        for (String q : queries) {
            RealNode.Response r = dataNode.node().call("POST", path, knnText(q));
            statuses.merge(r.status(), 1, Integer::sum);
            if (r.status() != 200 && firstRefusal == null) {
                firstRefusal = reason(r);
            }
        }
        System.out.println("query_text through " + dataNode.name() + " (data node, no model): statuses " + statuses
                + (firstRefusal == null ? "" : "; reason: " + firstRefusal));

        int same = 0, sameSet = 0;
        double maxScoreDiff = 0;
        for (int i = 0; i < queries.size(); i++) {
            JsonObject embed = new JsonObject();
            embed.addProperty("model", MODEL);
            embed.addProperty("role", "query");
            JsonArray one = new JsonArray();
            one.add(queries.get(i));
            embed.add("texts", one);
            RealNode.Response e = coordinating.node().call("POST", "/_plugins/_embeddings/embed", embed.toString());
            NodeWorkload.ok(e);
            JsonArray vector = e.body()
                    .getAsJsonObject()
                    .getAsJsonArray("embeddings")
                    .get(0)
                    .getAsJsonArray();
            RealNode.Response r = dataNode.node().call("POST", path, knnVector(vector));
            NodeWorkload.ok(r);
            List<String> reference = ids(r);
            if (reference.equals(viaCoordinating.get(i))) {
                same++;
                List<Float> s = scores(r);
                for (int j = 0; j < s.size(); j++) {
                    maxScoreDiff = Math.max(
                            maxScoreDiff,
                            Math.abs(s.get(j) - coordinatingScores.get(i).get(j)));
                }
            }
            if (new HashSet<>(reference).equals(new HashSet<>(viaCoordinating.get(i)))) {
                sameSet++;
            }
        }
        System.out.printf(
                Locale.ROOT,
                "reference: each query's vector from %s's _plugins/_embeddings/embed (role query), searched as"
                        + " query_vector through %s (data node, no model): all answered%n",
                coordinating.name(),
                dataNode.name());
        System.out.printf(
                Locale.ROOT,
                "same top 10: %d of %d (same ids in the same order; as sets: %d of %d; largest score difference"
                        + " where the same: %.7f)%n",
                same,
                queries.size(),
                sameSet,
                queries.size(),
                maxScoreDiff);
    }

    /** Sends {@code texts} as bulks of {@link #BULK}: bulk i to {@code targets[i mod N]}, sent by client i mod 2. */
    private static double ingest(List<RealNode> targets, String index, List<String> texts, int firstId)
            throws Exception {
        List<String> bulks = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += BULK) {
            StringBuilder bulk = new StringBuilder();
            for (int i = from; i < Math.min(texts.size(), from + BULK); i++) {
                JsonObject source = new JsonObject();
                source.addProperty("body", texts.get(i));
                bulk.append("{\"index\": {\"_id\": \"")
                        .append(firstId + i)
                        .append("\"}}\n")
                        .append(source)
                        .append('\n');
            }
            bulks.add(bulk.toString());
        }
        // a bulk may wait behind the other client's on a one-core node: a deadline well past OpenSearch's 1m default
        String path = "/" + index + "/_bulk?pipeline=" + PIPELINE_ID + "&timeout=5m";
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            long t0 = System.nanoTime();
            List<Future<?>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                clients.add(pool.submit(() -> {
                    for (int i = client; i < bulks.size(); i += CLIENTS) {
                        RealNode.Response r = targets.get(i % targets.size())
                                .call("POST", path, bulks.get(i), "application/x-ndjson");
                        NodeWorkload.ok(r);
                        if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                            throw new IllegalStateException("bulk " + i + " to " + index + ": " + firstError(r));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : clients) {
                f.get();
            }
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            pool.shutdownNow();
        }
    }

    private static String firstError(RealNode.Response r) {
        for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
            JsonObject action = item.getAsJsonObject()
                    .entrySet()
                    .iterator()
                    .next()
                    .getValue()
                    .getAsJsonObject();
            if (action.has("error")) {
                return action.get("error").toString();
            }
        }
        return r.text().substring(0, Math.min(2000, r.text().length()));
    }

    /** The node's table: roles, pinning as the kernel reports it, the processors OpenSearch counts, heap, models. */
    private static void printTopology(List<Member> nodes, String heap) throws Exception {
        JsonObject info = nodes.get(3)
                .node()
                .call("GET", "/_nodes/os,jvm,process", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        String manager = nodes.get(3)
                .node()
                .call("GET", "/_cat/cluster_manager?format=json", null)
                .body()
                .getAsJsonArray()
                .get(0)
                .getAsJsonObject()
                .get("node")
                .getAsString();
        System.out.println();
        System.out.println("| node | part | node.roles (as the node reports them) | taskset -c | CPUs allowed"
                + " (/proc) | allocated processors | heap max | model folders installed | models loaded |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (Member m : nodes) {
            JsonObject n = null;
            for (Map.Entry<String, JsonElement> e : info.entrySet()) {
                if (e.getValue().getAsJsonObject().get("name").getAsString().equals(m.name())) {
                    n = e.getValue().getAsJsonObject();
                }
            }
            if (n == null) {
                throw new IllegalStateException(m.name() + " is not in the cluster: " + info);
            }
            List<String> roles = new ArrayList<>();
            n.getAsJsonArray("roles").forEach(r -> roles.add(r.getAsString()));
            long pid = NodeWorkload.pid(m.node().dir());
            String allowed = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("Cpus_allowed_list:"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst()
                    .orElse("?");
            System.out.printf(
                    Locale.ROOT,
                    "| %s%s | %s | %s | %s | %s | %d | %d MB | %s | %s |%n",
                    m.name(),
                    m.name().equals(manager) ? " (elected cluster manager)" : "",
                    m.part(),
                    roles.isEmpty() ? "[] (coordinating only)" : roles,
                    m.cpus(),
                    allowed,
                    n.getAsJsonObject("os").get("allocated_processors").getAsInt(),
                    n.getAsJsonObject("jvm")
                                    .getAsJsonObject("mem")
                                    .get("heap_max_in_bytes")
                                    .getAsLong()
                            >> 20,
                    models(m.node(), "installed"),
                    models(m.node(), "loaded"));
        }
        System.out.println("settings: every node " + heap + "; ingest and coordinating nodes"
                + " embeddings.models.preload: [" + MODEL + "] and the plugin's bundled " + MODEL_FILES
                + " (its -int8 form built at load); the data node: the bundled model removed, no preload;"
                + " embeddings.onnx.workers and intra_op_threads: default (one worker of one thread on a pinned core); other settings"
                + " default. Each core runs one ingest node; both cores are shared by the data node, the"
                + " coordinating node and this client (taskset -c 0-1). Indices: 1 shard, 0 replicas (one data"
                + " node); pipeline " + PIPELINE);
    }

    /** Fails unless the data node reports no installed model and no loaded model, and holds no model folder. */
    private static void checkNoModel(Member dataNode, String when) throws Exception {
        List<String> installed = models(dataNode.node(), "installed");
        List<String> loaded = models(dataNode.node(), "loaded");
        JsonObject stats = dataNode.node()
                .call("GET", "/_plugins/_embeddings/_local/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        JsonObject statsModels =
                stats.entrySet().iterator().next().getValue().getAsJsonObject().getAsJsonObject("models");
        Path dir = dataNode.node().dir();
        boolean bundled = hasEntries(dir.resolve("plugins/embeddings/models"));
        boolean configured = hasEntries(dir.resolve("config/embeddings/models"));
        System.out.printf(
                Locale.ROOT,
                "data node %s, %s: models API installed %s, loaded %s; stats API models %s;"
                        + " plugins/embeddings/models %s, config/embeddings/models %s%n",
                dataNode.name(),
                when,
                installed,
                loaded,
                statsModels == null ? "{}" : statsModels.keySet(),
                bundled ? "not empty" : "empty or absent",
                configured ? "not empty" : "empty or absent");
        if (installed.isEmpty() == false
                || loaded.isEmpty() == false
                || (statsModels != null && statsModels.size() > 0)
                || bundled
                || configured) {
            throw new IllegalStateException("the data node " + dataNode.name() + " holds a model " + when);
        }
    }

    /** Names of the models the node's models API lists with {@code flag} ({@code installed}, {@code loaded}) true. */
    private static List<String> models(RealNode node, String flag) throws Exception {
        RealNode.Response r = node.call("GET", "/_plugins/_embeddings/models", null);
        NodeWorkload.ok(r);
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e :
                r.body().getAsJsonObject().getAsJsonObject("models").entrySet()) {
            if (e.getValue().getAsJsonObject().get(flag).getAsBoolean()) {
                names.add(e.getKey());
            }
        }
        return names;
    }

    /** Waits until the node has {@link #MODEL} loaded (preloaded at start: its int8 form is built first). */
    private static void awaitLoaded(RealNode node) throws Exception {
        long deadline = System.nanoTime() + 15L * 60 * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonObject model = node.call("GET", "/_plugins/_embeddings/models", null)
                    .body()
                    .getAsJsonObject()
                    .getAsJsonObject("models")
                    .getAsJsonObject(MODEL);
            if (model != null && model.get("loaded").getAsBoolean()) {
                return;
            }
            if (model != null && model.get("state").getAsString().equals("failed")) {
                throw new IllegalStateException("node " + node.httpPort() + " failed to load " + MODEL + ": " + model);
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("node " + node.httpPort() + " did not load " + MODEL + " in 15 minutes");
    }

    /** Texts each node encoded with {@link #MODEL} so far, by node name, from the plugin's stats. */
    private static Map<String, Long> textsEncoded(RealNode node) throws Exception {
        RealNode.Response r = node.call("GET", "/_plugins/_embeddings/stats", null);
        NodeWorkload.ok(r);
        Map<String, Long> texts = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e :
                r.body().getAsJsonObject().getAsJsonObject("nodes").entrySet()) {
            JsonObject n = e.getValue().getAsJsonObject();
            JsonObject models = n.getAsJsonObject("models");
            long t = models != null && models.has(MODEL)
                    ? models.getAsJsonObject(MODEL).get("texts").getAsLong()
                    : 0;
            texts.put(n.get("name").getAsString(), t);
        }
        return texts;
    }

    /** Documents each node ran through the pipeline so far, by node name, from OpenSearch's ingest stats. */
    private static Map<String, Long> pipelineCounts(RealNode node) throws Exception {
        RealNode.Response r = node.call("GET", "/_nodes/stats/ingest", null);
        NodeWorkload.ok(r);
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e :
                r.body().getAsJsonObject().getAsJsonObject("nodes").entrySet()) {
            JsonObject n = e.getValue().getAsJsonObject();
            JsonObject pipelines = n.has("ingest") ? n.getAsJsonObject("ingest").getAsJsonObject("pipelines") : null;
            long c = pipelines != null && pipelines.has(PIPELINE_ID)
                    ? pipelines.getAsJsonObject(PIPELINE_ID).get("count").getAsLong()
                    : 0;
            counts.put(n.get("name").getAsString(), c);
        }
        return counts;
    }

    private static String reason(RealNode.Response r) {
        JsonElement error = r.body().isJsonObject() ? r.body().getAsJsonObject().get("error") : null;
        if (error != null && error.isJsonObject() && error.getAsJsonObject().has("reason")) {
            return error.getAsJsonObject().get("type").getAsString() + ": "
                    + error.getAsJsonObject().get("reason").getAsString();
        }
        return r.text().substring(0, Math.min(600, r.text().length()));
    }

    private static List<String> ids(RealNode.Response r) {
        List<String> ids = new ArrayList<>();
        for (JsonElement h : r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits")) {
            ids.add(h.getAsJsonObject().get("_id").getAsString());
        }
        return ids;
    }

    private static List<Float> scores(RealNode.Response r) {
        List<Float> scores = new ArrayList<>();
        for (JsonElement h : r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits")) {
            scores.add(h.getAsJsonObject().get("_score").getAsFloat());
        }
        return scores;
    }

    private static String knnText(String query) {
        JsonObject field = new JsonObject();
        field.addProperty("query_text", query);
        return knn(field);
    }

    private static String knnVector(JsonArray vector) {
        JsonObject field = new JsonObject();
        field.add("query_vector", vector);
        return knn(field);
    }

    private static String knn(JsonObject field) {
        field.addProperty("k", 10);
        JsonObject vec = new JsonObject();
        vec.add("vec", field);
        JsonObject query = new JsonObject();
        query.add("embed_knn", vec);
        JsonObject body = new JsonObject();
        body.addProperty("size", 10);
        body.addProperty("_source", false);
        body.add("query", query);
        return body.toString();
    }

    private static boolean hasEntries(Path folder) throws IOException {
        if (Files.isDirectory(folder) == false) {
            return false;
        }
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.findAny().isPresent();
        }
    }

    private ScaleOutBench() {}
}

package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.VectorLayout;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * A million vectors through a real node, without inference: per {@code index_options}, the time to bulk-ingest them
 * (SMILE bodies, two concurrent clients, refresh off) and to force-merge into one segment, the vector bytes per part
 * and on the search path (vector stats endpoint), the store size, and with {@code query_vector}: recall@10 against
 * the exact top 10 (computed here by brute force) and client-side p50 / p99 latency, at the default
 * {@code num_candidates} (1.5 x k) and at 100.
 *
 * <p>The vectors are synthetic, since a million real model vectors cannot be encoded on this machine, and shaped
 * the way text embeddings are: of low intrinsic dimension and clustered. Each is a point of a 48-dim latent space
 * (one of {@code CLUSTERS} Gaussian centroids plus Gaussian noise of sigma 0.6), mapped into 384 dims by one fixed
 * random matrix, plus isotropic noise of sigma 0.05 per dim, normalized. A vector's ten nearest neighbours then
 * have a cosine near 0.8 while two random vectors have one near 0, as with real embeddings; on an isotropic
 * Gaussian mixture, HNSW itself finds under half of the true top 10, which says nothing about formats. Vector i
 * is generated from its own seed, so ingest and the ground truth regenerate the same set without storing it;
 * queries are 200 more vectors of the same process.
 *
 * <p>Usage: {@code NODE_HEAP="-Xms6g -Xmx6g" bench.sh vectors million [N] [OPTIONS]}, OPTIONS a comma-separated
 * subset of {@code hnsw,hnsw-int8,hnsw-int4,hnsw-binary,flat,flat-int8,flat-int4,flat-binary}
 * ({@link VectorLayout#formats}, all of them by default). {@code -Dmillion.merge_workers=1,2} builds each option once
 * per {@code index.embeddings.merge_workers} value, on an index of its own with the same vectors, and prints each
 * force-merge's time as a ratio to the first value's.
 */
final class VectorsMillion {
    private VectorsMillion() {}

    static final int DIMS = 384;
    static final int LATENT = 48;
    static final int CLUSTERS = 1_000;
    static final double CLUSTER_SIGMA = 0.6;
    static final double NOISE_SIGMA = 0.05;
    static final int QUERIES = 200;
    static final int K = 10;
    static final int BULK = 1000;
    static final long SEED = 20261130L;

    /** The generator's fixed parts: latent centroids and the projection into {@link #DIMS} dims. */
    record Space(float[][] centroids, float[][] projection) {}

    static Space space() {
        SplittableRandom random = new SplittableRandom(SEED);
        float[][] centroids = new float[CLUSTERS][LATENT];
        for (float[] c : centroids) {
            for (int j = 0; j < LATENT; j++) {
                c[j] = (float) gaussian(random);
            }
        }
        float[][] projection = new float[DIMS][LATENT];
        for (float[] row : projection) {
            for (int j = 0; j < LATENT; j++) {
                row[j] = (float) (gaussian(random) / Math.sqrt(LATENT));
            }
        }
        return new Space(centroids, projection);
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller, from the vector's own generator
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    private static void normalize(float[] v) {
        double n = 0;
        for (float x : v) {
            n += x * x;
        }
        float inv = (float) (1 / Math.sqrt(n));
        for (int d = 0; d < v.length; d++) {
            v[d] *= inv;
        }
    }

    /** Vector {@code i} of the set; queries are the vectors after the last document. */
    static float[] vector(Space space, long i) {
        SplittableRandom random = new SplittableRandom(SEED * 31 + i);
        float[] c = space.centroids()[random.nextInt(CLUSTERS)];
        float[] z = new float[LATENT];
        for (int j = 0; j < LATENT; j++) {
            z[j] = c[j] + (float) (CLUSTER_SIGMA * gaussian(random));
        }
        float[] v = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            float[] row = space.projection()[d];
            float s = 0;
            for (int j = 0; j < LATENT; j++) {
                s += row[j] * z[j];
            }
            v[d] = s + (float) (NOISE_SIGMA * gaussian(random));
        }
        normalize(v);
        return v;
    }

    private static float dot(float[] a, float[] b) {
        float s = 0;
        for (int d = 0; d < a.length; d++) {
            s += a[d] * b[d];
        }
        return s;
    }

    /** The exact top 10 of every query by dot product (= cosine, all vectors are unit), cached under target/. */
    static int[][] groundTruth(Space centroids, int n, float[][] queries) throws Exception {
        Path file = Path.of("target/vectors", "synthetic-latent" + LATENT + "-" + n + "-gt.bin");
        if (Files.exists(file)) {
            try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
                int[][] gt = new int[in.readInt()][K];
                for (int[] row : gt) {
                    for (int j = 0; j < K; j++) {
                        row[j] = in.readInt();
                    }
                }
                return gt;
            }
        }
        long start = System.nanoTime();
        int threads = 2;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<PriorityQueue<float[]>>>> parts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int from = (int) ((long) n * t / threads);
            int to = (int) ((long) n * (t + 1) / threads);
            parts.add(pool.submit(() -> {
                List<PriorityQueue<float[]>> local = new ArrayList<>();
                for (int q = 0; q < queries.length; q++) {
                    local.add(new PriorityQueue<>((a, b) -> Float.compare(a[0], b[0])));
                }
                for (int i = from; i < to; i++) {
                    float[] v = vector(centroids, i);
                    for (int q = 0; q < queries.length; q++) {
                        float s = dot(queries[q], v);
                        PriorityQueue<float[]> h = local.get(q);
                        if (h.size() < K) {
                            h.add(new float[] {s, i});
                        } else if (s > h.peek()[0]) {
                            h.poll();
                            h.add(new float[] {s, i});
                        }
                    }
                }
                return local;
            }));
        }
        int[][] gt = new int[queries.length][K];
        List<List<PriorityQueue<float[]>>> results = new ArrayList<>();
        for (Future<List<PriorityQueue<float[]>>> f : parts) {
            results.add(f.get());
        }
        pool.shutdown();
        for (int q = 0; q < queries.length; q++) {
            List<float[]> all = new ArrayList<>();
            for (List<PriorityQueue<float[]>> r : results) {
                all.addAll(r.get(q));
            }
            all.sort((a, b) -> Float.compare(b[0], a[0]));
            for (int j = 0; j < K; j++) {
                gt[q][j] = (int) all.get(j)[1];
            }
        }
        Files.createDirectories(file.getParent());
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
            out.writeInt(gt.length);
            for (int[] row : gt) {
                for (int id : row) {
                    out.writeInt(id);
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "exact top %d of %d queries over %d vectors in %.0f s%n",
                K,
                queries.length,
                n,
                (System.nanoTime() - start) / 1e9);
        return gt;
    }

    static void run(int n, List<String> options) throws Exception {
        // index.embeddings.merge_workers values to compare, each on its own index of the same vectors
        List<Integer> mergeWorkers = new ArrayList<>();
        for (String w : System.getProperty("million.merge_workers", "1").split(",")) {
            mergeWorkers.add(Integer.parseInt(w.trim()));
        }
        Space centroids = space();
        float[][] queries = new float[QUERIES][];
        for (int q = 0; q < QUERIES; q++) {
            queries[q] = vector(centroids, (long) n + q);
        }
        int[][] gt = groundTruth(centroids, n, queries);
        System.out.printf(
                Locale.ROOT,
                "synthetic set: %d vectors of %d dims, %d clusters in a %d-dim latent space, %d queries%n",
                n,
                DIMS,
                CLUSTERS,
                LATENT,
                QUERIES);
        try (RealNode node = RealNode.start(
                "vectors-million",
                RealNode.port(78),
                "indices.memory.index_buffer_size=" + System.getProperty("million.index_buffer", "50%"))) {
            Http http = new Http(node.httpPort());
            Map<String, Double> mergeSeconds1 = new LinkedHashMap<>();
            for (String option : options) {
                VectorLayout layout = VectorLayout.format(option);
                String field = layout.field(DIMS);
                for (int workers : mergeWorkers) {
                    String index = "million-" + option + "-w" + workers;
                    node.call("DELETE", "/" + index, null);
                    VectorsSciFact.check(
                            node.call("PUT", "/" + index, String.format(Locale.ROOT, """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1",
                                  "translog.durability": "async", "merge.scheduler.max_thread_count": 1,
                                  "index.embeddings.merge_workers": %d},
                     "mappings": {"_source": {"excludes": ["vec"]}, "properties": {"vec": %s}}}""", workers, field)));
                    long start = System.nanoTime();
                    ingest(http, index, centroids, n);
                    VectorsSciFact.check(node.call("POST", "/" + index + "/_refresh", null));
                    double ingestSeconds = (System.nanoTime() - start) / 1e9;
                    JsonObject before = VectorsSciFact.vectorStats(node, index);
                    start = System.nanoTime();
                    forceMerge(node, index);
                    VectorsSciFact.check(node.call("POST", "/" + index + "/_refresh", null));
                    // a commit, so that the merged-away segments leave the disk before the store is measured
                    VectorsSciFact.check(node.call("POST", "/" + index + "/_flush", null));
                    double mergeSeconds = (System.nanoTime() - start) / 1e9;
                    JsonObject stats = VectorsSciFact.vectorStats(node, index);
                    long store = node.storeBytes(index);
                    System.out.printf(
                            Locale.ROOT,
                            "%n== %s, merge_workers %d: ingest %.0f s (%.0f vectors/s, %d segments), force-merge %.0f s; store %.0f MB; raw %.0f MB, quantized %.0f MB, graph %.0f MB, search path %.0f MB%n",
                            option,
                            workers,
                            ingestSeconds,
                            n / ingestSeconds,
                            before.get("segments").getAsInt(),
                            mergeSeconds,
                            store / 1e6,
                            stats.get("raw_bytes").getAsLong() / 1e6,
                            stats.get("quantized_bytes").getAsLong() / 1e6,
                            stats.get("graph_bytes").getAsLong() / 1e6,
                            stats.get("search_path_bytes").getAsLong() / 1e6);
                    List<String[]> settings =
                            new ArrayList<>(List.of(new String[] {null, null}, new String[] {"100", null}));
                    if (layout.quantized()) {
                        settings.add(new String[] {"100", "0"});
                    }
                    for (String[] setting : settings) {
                        for (int q = 0; q < QUERIES; q++) {
                            search(http, index, queries[q], setting[0], setting[1]); // warm: page cache, JIT
                        }
                        List<Double> latencies = new ArrayList<>();
                        double recall = 0;
                        for (int q = 0; q < QUERIES; q++) {
                            long t = System.nanoTime();
                            List<Integer> hits = search(http, index, queries[q], setting[0], setting[1]);
                            latencies.add((System.nanoTime() - t) / 1e6);
                            Set<Integer> exact = new HashSet<>();
                            for (int id : gt[q]) {
                                exact.add(id);
                            }
                            recall += hits.stream().filter(exact::contains).count() / (double) K;
                        }
                        System.out.printf(
                                Locale.ROOT,
                                "   num_candidates %-8s oversample %-8s recall@10 %.3f   p50 %.1f ms   p99 %.1f ms%n",
                                setting[0] == null ? "default" : setting[0],
                                setting[1] == null ? "default" : setting[1],
                                recall / QUERIES,
                                VectorsSciFact.percentile(latencies, 50),
                                VectorsSciFact.percentile(latencies, 99));
                    }
                    node.call("DELETE", "/" + index, null);
                    if (mergeSeconds1.putIfAbsent(option, mergeSeconds) != null) {
                        System.out.printf(
                                Locale.ROOT,
                                "   force-merge with %d merge workers: %.2fx the time with %d%n",
                                workers,
                                mergeSeconds / mergeSeconds1.get(option),
                                mergeWorkers.get(0));
                    }
                }
            }
        }
    }

    /**
     * Force-merges {@code index} into one segment as a task, polled: a
     * million-vector HNSW merge runs for longer than any one request should wait.
     */
    private static void forceMerge(RealNode node, String index) throws Exception {
        RealNode.Response r =
                node.call("POST", "/" + index + "/_forcemerge?max_num_segments=1&wait_for_completion=false", null);
        VectorsSciFact.check(r);
        String task = r.body().getAsJsonObject().get("task").getAsString();
        while (true) {
            Thread.sleep(2_000);
            r = node.call("GET", "/_tasks/" + task, null);
            VectorsSciFact.check(r);
            if (r.body().getAsJsonObject().get("completed").getAsBoolean()) {
                if (r.body().getAsJsonObject().has("error")) {
                    throw new IllegalStateException("force-merge of [" + index + "] failed: " + r.text());
                }
                return;
            }
        }
    }

    private static void ingest(Http http, String index, Space centroids, int n) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        ExecutorService clients = Executors.newFixedThreadPool(2);
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            running.add(clients.submit(() -> {
                byte separator = XContentType.SMILE.xContent().streamSeparator();
                for (int from = next.getAndAdd(BULK); from < n; from = next.getAndAdd(BULK)) {
                    ByteArrayOutputStream body = new ByteArrayOutputStream(BULK * 2100);
                    for (int i = from; i < Math.min(n, from + BULK); i++) {
                        XContentBuilder action = XContentFactory.smileBuilder()
                                .startObject()
                                .startObject("index")
                                .field("_id", Integer.toString(i))
                                .endObject()
                                .endObject();
                        BytesReference.bytes(action).writeTo(body);
                        body.write(separator);
                        XContentBuilder source = XContentFactory.smileBuilder()
                                .startObject()
                                .array("vec", vector(centroids, i))
                                .endObject();
                        BytesReference.bytes(source).writeTo(body);
                        body.write(separator);
                    }
                    JsonObject r = http.send(
                            "POST",
                            "/" + index + "/_bulk?filter_path=errors,items.*.error",
                            body.toByteArray(),
                            "application/smile");
                    if (r.get("errors").getAsBoolean()) {
                        throw new IllegalStateException("bulk errors: "
                                + r.toString()
                                        .substring(
                                                0, Math.min(1000, r.toString().length())));
                    }
                    int done = Math.min(n, from + BULK);
                    if (done % 50_000 == 0) {
                        System.err.printf(
                                Locale.ROOT,
                                "\r   %s: %d/%d  %.0f/s",
                                index,
                                done,
                                n,
                                done / ((System.nanoTime() - start) / 1e9));
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
        clients.shutdown();
        System.err.println();
    }

    private static List<Integer> search(Http http, String index, float[] q, String candidates, String oversample)
            throws Exception {
        String body = String.format(
                Locale.ROOT,
                """
            {"size": %d, "_source": false, "query": {"embed_knn": {"vec": {"query_vector": %s, "k": %d%s%s}}}}""",
                K,
                Arrays.toString(q),
                K,
                candidates == null ? "" : ", \"num_candidates\": " + candidates,
                oversample == null ? "" : ", \"oversample\": " + oversample);
        JsonObject r = http.send(
                "POST",
                "/" + index + "/_search?filter_path=hits.hits._id",
                body.getBytes(StandardCharsets.UTF_8),
                "application/json");
        List<Integer> ids = new ArrayList<>();
        JsonArray hits = r.getAsJsonObject("hits").getAsJsonArray("hits");
        for (JsonElement h : hits) {
            ids.add(Integer.parseInt(h.getAsJsonObject().get("_id").getAsString()));
        }
        return ids;
    }

    /** Requests with any body type, answers always as JSON. */
    private record Http(HttpClient client, int port) {
        Http(int port) {
            this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), port);
        }

        JsonObject send(String method, String path, byte[] body, String contentType)
                throws IOException, InterruptedException {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofMinutes(30))
                    .header("Content-Type", contentType)
                    .header("Accept", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
                    .build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() >= 300) {
                throw new IOException(response.statusCode() + " "
                        + response.body()
                                .substring(0, Math.min(2000, response.body().length())));
            }
            return JsonParser.parseString(response.body()).getAsJsonObject();
        }
    }
}

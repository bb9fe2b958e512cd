package org.embeddings.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * In process, one model two ways on this machine's P cores: one native worker whose session has P intra-op threads
 * (the node's layout before {@code embeddings.onnx.workers}), against P workers of one thread each (today's
 * default). Both through the real {@link Encoder}, interleaved rounds, three kinds of client: one caller encoding
 * SciFact documents in bulks of 100; 8 callers each sending one SciFact query at a time; 2 callers sending batches of
 * 8 queries. Prints each side's rate, the ratio, and whether every vector is the same bit for bit.
 *
 * <p>{@code bench.sh workers [MODEL] [DOCS] [QUERIES] [ROUNDS]}
 */
public final class WorkersBench {
    private WorkersBench() {}

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5-int8";
        int docCount = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        int queryCount = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int cores = Runtime.getRuntime().availableProcessors();
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        Path int8 = Path.of(System.getProperty("java.io.tmpdir"), "embeddings-int8-bench");
        List<String> docs = EncoderBench.scifact(data, docCount);
        List<String> queries = Int8RecipeBench.scifactQueries(data).subList(0, queryCount);
        System.out.printf(
                Locale.ROOT,
                "%s, %d cores, %d documents, %d queries, %d rounds%n",
                model,
                cores,
                docCount,
                queryCount,
                rounds);
        try (ModelRegistry oneWorker = new ModelRegistry(List.of(models), settings(cores, 1), Long.MAX_VALUE, int8);
                ModelRegistry workers = new ModelRegistry(List.of(models), settings(1, cores), Long.MAX_VALUE, int8)) {
            Encoder before = oneWorker.encoder(model);
            Encoder after = workers.encoder(model);
            ExecutorService callers = Executors.newFixedThreadPool(8);
            try {
                for (Encoder e : List.of(before, after)) { // warm-up, discarded
                    documents(e, docs.subList(0, Math.min(20, docs.size())));
                    queries(e, queries.subList(0, 40), callers, 8, 1);
                }
                double[][] rates = new double[3][2];
                boolean same = true;
                for (int r = 0; r < rounds; r++) {
                    float[][][] vectors = new float[3][2][];
                    Encoder[] order = r % 2 == 0 ? new Encoder[] {before, after} : new Encoder[] {after, before};
                    for (Encoder e : order) {
                        int side = e == before ? 0 : 1;
                        long t0 = System.nanoTime();
                        float[][] d = documents(e, docs);
                        rates[0][side] += docs.size() / seconds(t0);
                        t0 = System.nanoTime();
                        float[][] q1 = queries(e, queries, callers, 8, 1);
                        rates[1][side] += queries.size() / seconds(t0);
                        t0 = System.nanoTime();
                        float[][] q8 = queries(e, queries, callers, 2, 8);
                        rates[2][side] += queries.size() / seconds(t0);
                        vectors[0][side] = flat(d);
                        vectors[1][side] = flat(q1);
                        vectors[2][side] = flat(q8);
                    }
                    for (float[][] kind : vectors) {
                        same &= Arrays.equals(kind[0], kind[1]);
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "%n| client | 1 worker x %d threads | %d workers x 1 thread | ratio |%n|---|---|---|---|%n",
                        cores,
                        cores);
                String[] kinds = {
                    "1 caller, documents in bulks of 100 (docs/s)",
                    "8 callers, one query each (queries/s)",
                    "2 callers, 8 queries each (queries/s)"
                };
                for (int k = 0; k < 3; k++) {
                    System.out.printf(
                            Locale.ROOT,
                            "| %s | %.1f | %.1f | %.2fx |%n",
                            kinds[k],
                            rates[k][0] / rounds,
                            rates[k][1] / rounds,
                            rates[k][1] / rates[k][0]);
                }
                System.out.println("every vector the same bit for bit on both sides: " + same);
            } finally {
                callers.shutdownNow();
            }
        }
    }

    private static EncoderSettings settings(int intraOpThreads, int workers) {
        return new EncoderSettings(
                new SessionSettings(intraOpThreads, false, false),
                EncoderSettings.DEFAULT_TOKEN_BUDGET,
                64,
                EncoderSettings.DEFAULT_QUERY_TOKEN_BUDGET,
                4,
                1,
                workers);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static float[][] documents(Encoder e, List<String> docs) {
        float[][] out = new float[docs.size()][];
        for (int i = 0; i < docs.size(); i += 100) {
            float[][] v = e.encode(docs.subList(i, Math.min(docs.size(), i + 100)), Role.PASSAGE);
            System.arraycopy(v, 0, out, i, v.length);
        }
        return out;
    }

    /** {@code callers} threads, each encoding its share of the queries {@code batch} at a time. */
    private static float[][] queries(Encoder e, List<String> queries, ExecutorService pool, int callers, int batch)
            throws Exception {
        float[][] out = new float[queries.size()][];
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            int caller = c;
            running.add(pool.submit(() -> {
                for (int i = caller * batch; i < queries.size(); i += callers * batch) {
                    List<String> texts = queries.subList(i, Math.min(queries.size(), i + batch));
                    float[][] v = e.encode(texts, Role.QUERY);
                    System.arraycopy(v, 0, out, i, v.length);
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
        return out;
    }

    private static float[] flat(float[][] vectors) {
        int dims = vectors[0].length;
        float[] all = new float[vectors.length * dims];
        for (int i = 0; i < vectors.length; i++) {
            System.arraycopy(vectors[i], 0, all, i * dims, dims);
        }
        return all;
    }
}

package org.embeddings.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * What a lone query costs in process under each ONNX Runtime thread setting: one session per setting (intra-op
 * threads 1 or all cores, idle threads sleeping or spinning), fp32 and int8, each SciFact query encoded alone by every
 * setting in turn (the order rotating per query, so load on the machine weighs on each alike), p50 and p90 per
 * setting, and whether every setting gives the same vector, bit for bit, as the node's default (all cores, no
 * spinning).
 *
 * <p>Then, for each form on one thread (a node's worker on these cores), warm against cold: every query encoded
 * once untimed, then timed right after (its weights were just read), then once more after reading
 * {@code -Dbench.evict.mb} (64) MB of other memory, as a node's search, HTTP and client do between two queries,
 * then once more after a pause of {@code -Dbench.pause.ms} (10) ms with the thread parked, and once more after the
 * same pause spent spinning (the core busy, touching no memory): between two queries at one client a node waits for
 * the next request about that long. The difference is what fetching the model's weights from memory costs a lone
 * query, and the two pauses tell whether it comes from the core going idle or from time alone.
 *
 * <p>Usage: {@code src/scripts/bench.sh lone-query [MODEL] [QUERIES]} (defaults bge-small-en-v1.5, 300).
 */
public final class LoneQueryBench {
    private record Setting(String name, Encoder encoder, ModelRegistry registry) {}

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        List<String> queries = Int8RecipeBench.scifactQueries(data).subList(0, count);
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "%s, %d queries alone, %d cores%n", model, count, cores);
        List<Setting> settings = new ArrayList<>();
        try {
            for (String form : List.of(model, model + "-int8")) {
                for (int threads : cores > 1 ? new int[] {cores, 1} : new int[] {1}) {
                    for (boolean spin : new boolean[] {false, true}) {
                        ModelRegistry registry = new ModelRegistry(
                                List.of(models),
                                new EncoderSettings(new SessionSettings(threads, false, spin), 512, 64));
                        settings.add(new Setting(
                                String.format(
                                        Locale.ROOT, "%s, %d threads, %s", form, threads, spin ? "spin" : "sleep"),
                                registry.encoder(form),
                                registry));
                    }
                }
            }
            double[][] ms = new double[settings.size()][count];
            boolean[] same = new boolean[settings.size()];
            Arrays.fill(same, true);
            for (int w = 0; w < 20; w++) {
                for (Setting s : settings) {
                    s.encoder().encode(queries.get(w), Role.QUERY);
                }
            }
            for (int q = 0; q < count; q++) {
                float[][] vectors = new float[settings.size()][];
                for (int k = 0; k < settings.size(); k++) {
                    int i = (q + k) % settings.size();
                    long start = System.nanoTime();
                    vectors[i] = settings.get(i).encoder().encode(queries.get(q), Role.QUERY);
                    ms[i][q] = (System.nanoTime() - start) / 1e6;
                }
                for (int i = 0; i < settings.size(); i++) {
                    int reference = i / 4 * 4; // the form's first setting: all cores, sleeping
                    same[i] &= Arrays.equals(vectors[i], vectors[reference]);
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "%n| setting | p50 ms | p90 ms | p50 / default | same vectors |%n|---|---|---|---|---|%n");
            for (int i = 0; i < settings.size(); i++) {
                double[] s = ms[i].clone();
                Arrays.sort(s);
                double[] d = ms[i / 4 * 4].clone();
                Arrays.sort(d);
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %.2f | %.2f | %.2fx | %s |%n",
                        settings.get(i).name(),
                        s[count / 2],
                        s[(int) (count * 0.9)],
                        s[count / 2] / d[count / 2],
                        same[i] ? "yes" : "no");
            }
            warmAgainstCold(
                    settings,
                    queries,
                    Integer.getInteger("bench.evict.mb", 64),
                    Integer.getInteger("bench.pause.ms", 10));
        } finally {
            for (Setting s : settings) {
                s.registry().close();
            }
        }
    }

    /** Keeps the JIT from dropping the reads that evict the caches. */
    private static volatile long sink;

    private static void warmAgainstCold(List<Setting> settings, List<String> queries, int evictMb, int pauseMs)
            throws Exception {
        byte[] other = new byte[evictMb << 20];
        System.out.printf(
                Locale.ROOT,
                "%n| one thread, sleeping | warm p50 ms | after reading %d MB | after %d ms parked | after %d ms spinning"
                        + " | parked / warm |%n|---|---|---|---|---|---|%n",
                evictMb,
                pauseMs,
                pauseMs);
        for (Setting s : settings) {
            if (s.name().endsWith(", 1 threads, sleep") == false) {
                continue;
            }
            double[][] ms = new double[4][queries.size()];
            for (int q = 0; q < queries.size(); q++) {
                String text = queries.get(q);
                s.encoder().encode(text, Role.QUERY);
                for (int k = 0; k < 4; k++) {
                    switch (k) {
                        case 1 -> {
                            long sum = 0;
                            for (int i = 0; i < other.length; i += 64) {
                                sum += other[i]++;
                            }
                            sink += sum;
                        }
                        case 2 -> pause(pauseMs, false);
                        case 3 -> pause(pauseMs, true);
                        default -> {}
                    }
                    long start = System.nanoTime();
                    s.encoder().encode(text, Role.QUERY);
                    ms[k][q] = (System.nanoTime() - start) / 1e6;
                }
            }
            double[] p50 = new double[4];
            for (int k = 0; k < 4; k++) {
                Arrays.sort(ms[k]);
                p50[k] = ms[k][queries.size() / 2];
            }
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %.2f | %.2f | %.2f | %.2f | %.2fx |%n",
                    s.name(),
                    p50[0],
                    p50[1],
                    p50[2],
                    p50[3],
                    p50[2] / p50[0]);
        }
    }

    private static void pause(int ms, boolean spin) {
        long end = System.nanoTime() + ms * 1_000_000L;
        for (long left = end - System.nanoTime(); left > 0; left = end - System.nanoTime()) {
            if (spin) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(left);
            }
        }
    }
}

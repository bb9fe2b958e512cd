package org.embeddings.bench;

import java.nio.file.Path;
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

/** Experiment: one 2-thread stream of documents against two 1-thread streams. */
public final class ParallelDocsBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5-int8";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 48;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        List<String> docs = System.getProperty("q") != null
                ? Int8RecipeBench.scifactQueries(data).subList(0, n)
                : EncoderBench.scifact(data, n);
        Role role = System.getProperty("q") != null ? Role.QUERY : Role.PASSAGE;
        int chunk = Integer.getInteger("chunk", n);
        try (ModelRegistry two = new ModelRegistry(
                        List.of(models), new EncoderSettings(new SessionSettings(2, false, false), 512, 64));
                ModelRegistry oneA = new ModelRegistry(
                        List.of(models), new EncoderSettings(new SessionSettings(1, false, false), 512, 64));
                ModelRegistry oneB = new ModelRegistry(
                        List.of(models), new EncoderSettings(new SessionSettings(1, false, false), 512, 64))) {
            Encoder e2 = two.encoder(model), a = oneA.encoder(model), b = oneB.encoder(model);
            e2.encode(docs.subList(0, 4), role);
            a.encode(docs.subList(0, 4), role);
            b.encode(docs.subList(0, 4), role);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                float[][] v2 = enc(e2, docs, role, chunk);
                double s2 = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                Future<float[][]> fa = pool.submit(() -> enc(a, docs.subList(0, n / 2), role, chunk / 2));
                Future<float[][]> fb = pool.submit(() -> enc(b, docs.subList(n / 2, n), role, chunk / 2));
                float[][] va = fa.get(), vb = fb.get();
                double s1 = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                enc(a, docs, role, chunk);
                double s1single = (System.nanoTime() - t0) / 1e9;
                int same = 0;
                for (int i = 0; i < n; i++) {
                    same += java.util.Arrays.equals(v2[i], i < n / 2 ? va[i] : vb[i - n / 2]) ? 1 : 0;
                }
                System.out.printf(
                        Locale.ROOT,
                        "round %d: 2-thread stream %.2f docs/s, two 1-thread streams %.2f docs/s (%.2fx), one 1-thread stream %.2f; same vectors %d/%d%n",
                        r,
                        n / s2,
                        n / s1,
                        s2 / s1,
                        n / s1single,
                        same,
                        n);
            }
            pool.shutdown();
        }
    }

    static float[][] enc(Encoder e, List<String> t, Role r, int chunk) {
        float[][] out = new float[t.size()][];
        for (int i = 0; i < t.size(); i += chunk) {
            float[][] v = e.encode(t.subList(i, Math.min(t.size(), i + chunk)), r);
            System.arraycopy(v, 0, out, i, v.length);
        }
        return out;
    }
}

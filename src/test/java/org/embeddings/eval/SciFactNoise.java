package org.embeddings.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.embeddings.testkit.BeirSet;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.RetrievalMetrics;
import org.embeddings.testkit.VectorFile;
import org.embeddings.testkit.VectorsEncode;

/**
 * How far SciFact's nDCG@10 moves when vectors move as little as an int8 form moves them: the noise floor under
 * issue 12's line (int8 within 0.3 of fp32).
 *
 * <p>Algorithm: encode the SciFact corpus and test queries with {@code MODEL} and {@code MODEL-int8} in process
 * ({@link VectorsEncode}, the code a node runs; files reused when present), and score both by exact search (dot
 * product of the normalized vectors, top 10, ties as pytrec_eval breaks them). Then three views of the difference:
 * <ul>
 *   <li>the int8 form's own: nDCG@10 of each, and a paired bootstrap over the 300 queries (10,000 resamples) of the
 *       mean difference;
 *   <li>perturbed fp32: every fp32 vector (documents and queries) turned by a random direction, orthogonal to it,
 *       by exactly the angle between that text's int8 and fp32 vectors. Each seed is a set of vectors exactly as
 *       close to fp32, text by text, as the int8 form, and knowing nothing of relevance, so the spread of their
 *       nDCG@10 is what 300 queries cannot tell apart at this closeness;
 *   <li>how often such a perturbation lands within 0.3 of fp32, and how often as far as the int8 form did.
 * </ul>
 *
 * <p>Usage: {@code eval.sh scifact-noise MODEL [SEEDS]} (default 50 seeds); {@code -Dembeddings.data} the shared
 * data folder.
 */
public final class SciFactNoise {
    private SciFactNoise() {}

    private static final int K = 10;

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "e5-small-v2";
        int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact");
        String int8 = model + "-int8";
        VectorsEncode.run(model, data);
        VectorsEncode.run(int8, data);
        VectorFile docs = VectorFile.read(VectorsEncode.corpusFile("scifact", model));
        VectorFile queries = VectorFile.read(VectorsEncode.queriesFile("scifact", model));
        VectorFile docs8 = VectorFile.read(VectorsEncode.corpusFile("scifact", int8));
        VectorFile queries8 = VectorFile.read(VectorsEncode.queriesFile("scifact", int8));
        if (docs.ids().equals(docs8.ids()) == false || queries.ids().equals(queries8.ids()) == false) {
            throw new IllegalStateException("the two forms' vector files list other texts");
        }
        Map<String, Map<String, Integer>> qrels = BeirSet.read(data).qrels();

        double[] fp32 = perQuery(queries, docs.vectors(), qrels, docs.ids());
        double[] quantized = perQuery(queries8, docs8.vectors(), qrels, docs.ids());
        double[] docCos = cosines(docs.vectors(), docs8.vectors());
        double[] queryCos = cosines(queries.vectors(), queries8.vectors());
        double observed = 100 * (mean(quantized) - mean(fp32));
        double[] ci = bootstrap(fp32, quantized, 10_000, new Random(42));
        int changed = 0;
        for (int q = 0; q < fp32.length; q++) {
            changed += fp32[q] != quantized[q] ? 1 : 0;
        }

        double[] deltas = new double[seeds];
        for (int s = 0; s < seeds; s++) {
            Random random = new Random(1000 + s);
            float[][] d = turned(docs.vectors(), docCos, random);
            VectorFile q = new VectorFile(queries.ids(), turned(queries.vectors(), queryCos, random));
            deltas[s] = 100 * (mean(perQuery(q, d, qrels, docs.ids())) - mean(fp32));
            System.err.printf(Locale.ROOT, "\rseed %d/%d: %+.2f", s + 1, seeds, deltas[s]);
        }
        System.err.println();
        double[] sorted = deltas.clone();
        Arrays.sort(sorted);
        long within = Arrays.stream(deltas).filter(x -> Math.abs(x) <= 0.3).count();
        long asFar = Arrays.stream(deltas)
                .filter(x -> Math.abs(x) >= Math.abs(observed))
                .count();

        System.out.printf(Locale.ROOT, "%n## SciFact nDCG@10 noise at int8's closeness: %s%n%n", model);
        System.out.printf(
                Locale.ROOT,
                "- fp32 %.2f, int8 %.2f: %+.2f (paired bootstrap 95%% interval %+.2f to %+.2f; %d of %d queries changed)%n",
                100 * mean(fp32),
                100 * mean(quantized),
                observed,
                ci[0],
                ci[1],
                changed,
                fp32.length);
        System.out.printf(
                Locale.ROOT,
                "- int8 cosine to fp32: documents min %.4f median %.4f, queries min %.4f median %.4f%n",
                min(docCos),
                median(docCos),
                min(queryCos),
                median(queryCos));
        System.out.printf(
                Locale.ROOT,
                "- %d perturbed fp32 sets, each text turned by its own int8 angle: difference to fp32 mean %+.2f, "
                        + "standard deviation %.2f, min %+.2f, median %+.2f, max %+.2f%n",
                seeds,
                mean(deltas),
                std(deltas),
                sorted[0],
                sorted[seeds / 2],
                sorted[seeds - 1]);
        System.out.printf(
                Locale.ROOT,
                "- within 0.3 of fp32: %d of %d; at least as far as int8 (|%.2f|): %d of %d%n",
                within,
                seeds,
                observed,
                asFar,
                seeds);
    }

    /** nDCG@10 of each judged query, exact search by dot product. */
    private static double[] perQuery(
            VectorFile queries, float[][] docs, Map<String, Map<String, Integer>> qrels, List<String> docIds) {
        List<Double> out = new ArrayList<>();
        for (int q = 0; q < queries.size(); q++) {
            Map<String, Integer> judged = qrels.get(queries.ids().get(q));
            if (judged == null) {
                continue;
            }
            float[] v = queries.vectors()[q];
            List<RetrievalMetrics.Hit> hits = new ArrayList<>(docs.length);
            for (int d = 0; d < docs.length; d++) {
                hits.add(new RetrievalMetrics.Hit(docIds.get(d), RetrievalMetrics.dot(v, docs[d])));
            }
            out.add(RetrievalMetrics.ndcg(hits, judged, K));
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Each vector turned by the angle whose cosine is {@code cos[i]}, toward a random direction orthogonal to it. */
    private static float[][] turned(float[][] vectors, double[] cos, Random random) {
        float[][] out = new float[vectors.length][];
        for (int i = 0; i < vectors.length; i++) {
            float[] v = vectors[i];
            double norm = Math.sqrt(RetrievalMetrics.dot(v, v));
            double[] u = new double[v.length];
            for (int j = 0; j < u.length; j++) {
                u[j] = random.nextGaussian();
            }
            double along = 0;
            for (int j = 0; j < u.length; j++) {
                along += u[j] * v[j] / norm;
            }
            double un = 0;
            for (int j = 0; j < u.length; j++) {
                u[j] -= along * v[j] / norm;
                un += u[j] * u[j];
            }
            un = Math.sqrt(un);
            double c = Math.min(1, cos[i]);
            double s = Math.sqrt(1 - c * c);
            out[i] = new float[v.length];
            for (int j = 0; j < v.length; j++) {
                out[i][j] = (float) (c * v[j] + s * norm * u[j] / un);
            }
        }
        return out;
    }

    /** 95 % interval of the mean paired difference (b - a), in points. */
    private static double[] bootstrap(double[] a, double[] b, int resamples, Random random) {
        double[] means = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < a.length; i++) {
                int q = random.nextInt(a.length);
                sum += b[q] - a[q];
            }
            means[r] = 100 * sum / a.length;
        }
        Arrays.sort(means);
        return new double[] {means[(int) (0.025 * resamples)], means[(int) (0.975 * resamples) - 1]};
    }

    private static double[] cosines(float[][] a, float[][] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = RecipeReference.cosine(a[i], b[i]);
        }
        return out;
    }

    private static double mean(double[] x) {
        return Arrays.stream(x).average().orElse(0);
    }

    private static double std(double[] x) {
        double m = mean(x);
        return Math.sqrt(Arrays.stream(x).map(v -> (v - m) * (v - m)).sum() / Math.max(1, x.length - 1));
    }

    private static double min(double[] x) {
        return Arrays.stream(x).min().orElse(0);
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}

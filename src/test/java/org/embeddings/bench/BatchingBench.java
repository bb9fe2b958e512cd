package org.embeddings.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSeam;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.TokenBudgetBatcher;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.Vectors;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * Length-aware batching against fixed-size padded batches, on the same texts, the same ONNX Runtime session and
 * the same pooling, in one run. Texts are tokenized once beforehand so only batching and inference are timed.
 * The policies run in alternating rounds, so that anything else on the machine weighs on each alike.
 *
 * <p>Usage: {@code src/scripts/bench.sh batching [MODEL] [DOCS] [ROUNDS]}; {@code -Dbench.budgets=1024,8192} picks budgets.
 */
public final class BatchingBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact/corpus.jsonl");
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));

        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(data)) {
            if (texts.size() == docs) {
                break;
            }
            JsonObject d = JsonParser.parseString(line).getAsJsonObject();
            texts.add(d.get("title").getAsString() + " " + d.get("text").getAsString());
        }
        try (ModelRegistry registry = new ModelRegistry(List.of(models), EncoderSettings.defaults())) {
            Encoder encoder = registry.encoder(model);
            Tokens[] tokens = EncoderSeam.tokenize(encoder, texts, Role.PASSAGE);
            long realTokens = 0;
            for (Tokens t : tokens) {
                realTokens += t.length();
            }
            OnnxModel onnx = EncoderSeam.onnx(encoder);
            System.out.printf(
                    Locale.ROOT,
                    "%s, %d SciFact documents, %.0f tokens on average, %d cores, EncoderSettings.defaults()%n",
                    model,
                    docs,
                    (double) realTokens / docs,
                    Runtime.getRuntime().availableProcessors());
            EncoderSeam.encodeTokens(encoder, Arrays.copyOf(tokens, 8)); // warm-up
            List<String> names = new ArrayList<>();
            List<TokenBudgetBatcher.Plan> plans = new ArrayList<>();
            for (String budget : System.getProperty("bench.budgets", "256,512,1024,2048,4096,8192")
                    .split(",")) {
                int b = Integer.parseInt(budget.trim());
                names.add("length-aware, token budget " + b);
                plans.add(new TokenBudgetBatcher(b, 64).plan(tokens));
            }
            names.add("fixed batches of 32, input order, padded");
            plans.add(fixedPlan(tokens.length, 32));
            names.add("one text at a time");
            plans.add(fixedPlan(tokens.length, 1));
            int baseline = names.size() - 2;
            double[] seconds = new double[names.size()];
            long[] padded = new long[names.size()];
            for (int r = 0; r < rounds; r++) {
                for (int p = 0; p < plans.size(); p++) {
                    long t0 = System.nanoTime();
                    TokenBudgetBatcher.Plan plan = plans.get(p);
                    padded[p] += EncoderSeam.onNativeThread(encoder, () -> run(onnx, encoder, tokens, plan));
                    seconds[p] += (System.nanoTime() - t0) / 1e9;
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-42s %10s %12s %12s %14s%n",
                    "policy",
                    "texts/s",
                    "tokens/s",
                    "padded/real",
                    "vs fixed 32");
            List<Integer> budgets = new ArrayList<>();
            List<Double> budgetRate = new ArrayList<>();
            List<Double> fixedRate = new ArrayList<>();
            List<Double> singleRate = new ArrayList<>();
            for (int p = 0; p < baseline; p++) {
                budgets.add(Integer.parseInt(names.get(p).replaceAll("[^0-9]", "")));
                budgetRate.add(docs * rounds / seconds[p]);
                fixedRate.add(docs * rounds / seconds[baseline]);
                singleRate.add(docs * rounds / seconds[baseline + 1]);
            }
            Map<String, List<? extends Number>> series = new LinkedHashMap<>();
            series.put("length-aware, by token budget", budgetRate);
            series.put("fixed batches of 32 (flat: no budget)", fixedRate);
            series.put("one text at a time (flat: no budget)", singleRate);
            Charts.line(
                    Path.of("docs/bench/batching-throughput.png"),
                    "Throughput vs token budget (" + model + ", SciFact documents, 2 cores)",
                    "padded tokens per ONNX batch",
                    "texts/s",
                    budgets,
                    series,
                    true);
            for (int p = 0; p < names.size(); p++) {
                System.out.printf(
                        Locale.ROOT,
                        "%-42s %10.2f %12.0f %12.2f %13.2fx%n",
                        names.get(p),
                        (double) docs * rounds / seconds[p],
                        realTokens * rounds / seconds[p],
                        (double) padded[p] / (realTokens * rounds),
                        seconds[baseline] / seconds[p]);
            }
        }
    }

    private static TokenBudgetBatcher.Plan fixedPlan(int n, int size) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int[] bounds = new int[(n + size - 1) / size + 1];
        for (int b = 0; b < bounds.length; b++) {
            bounds[b] = Math.min(n, b * size);
        }
        return new TokenBudgetBatcher.Plan(order, bounds);
    }

    /** Runs every sub-batch of a plan through the session, pools and normalizes; returns padded tokens. */
    private static long run(OnnxModel onnx, Encoder encoder, Tokens[] tokens, TokenBudgetBatcher.Plan plan) {
        long padded = 0;
        for (int b = 0; b < plan.batches(); b++) {
            OnnxModel.Output out = onnx.run(tokens, plan.order(), plan.bounds()[b], plan.bounds()[b + 1]);
            for (int r = 0; r < out.batch(); r++) {
                Vectors.l2Normalize(
                        encoder.card().pooling().pool(out.hidden(), out.mask(), r, out.seqLen(), out.dim()));
            }
            padded += (long) out.batch() * out.seqLen();
        }
        return padded;
    }
}

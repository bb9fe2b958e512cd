package org.embeddings.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Pooling;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * The plugin's encoder against a plain ONNX Runtime loop written the usual way (DJL tokenizer, one session with the
 * same options, pooling and normalization by hand), on the same texts, in one run: plain one text at a time, plain
 * fixed padded batches of 32 in input order, and the encoder with its default length-aware token budget. Methods
 * alternate round by round so that anything else on the machine weighs on each alike. Every method includes
 * tokenization. Achieved GFLOP/s counts the useful work of each text at its real length (matmuls 24·d²·n and
 * attention 4·d·n² per layer), so padding shows up as lost throughput, not as extra FLOPs.
 *
 * <p>Usage: {@code src/scripts/bench.sh encoder [MODEL...]}; {@code -Dbench.docs=128 -Dbench.sentences=1000
 * -Dbench.rounds=2 -Dbench.peak=237 -Dbench.budgets=256,512,1024} set the sizes, the machine's FP32 peak in GFLOP/s
 * and the encoder's token budgets to compare (BENCH_OPTS in the environment passes them through bench.sh).
 */
public final class EncoderBench {
    public static void main(String[] args) throws Exception {
        List<String> models = args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "bge-small-en-v1.5-q");
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path modelsDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int rounds = Integer.getInteger("bench.rounds", 2);
        double peak = Double.parseDouble(System.getProperty("bench.peak", "237"));
        Map<String, List<String>> corpora = new LinkedHashMap<>();
        corpora.put("SciFact documents", scifact(data, Integer.getInteger("bench.docs", 128)));
        corpora.put("STSB sentences", sts(data, Integer.getInteger("bench.sentences", 1000)));
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(
                Locale.ROOT,
                "%d cores, FP32 peak taken as %.0f GFLOP/s, %d rounds, ONNX Runtime intra-op threads = %d%n",
                cores,
                peak,
                rounds,
                cores);
        System.out.printf(
                Locale.ROOT,
                "%-22s %-18s %-34s %9s %10s %9s %7s %9s%n",
                "model",
                "texts",
                "method",
                "texts/s",
                "tokens/s",
                "GFLOP/s",
                "% peak",
                "vs plain1");
        int[] budgets = Arrays.stream(System.getProperty("bench.budgets", "512").split(","))
                .mapToInt(b -> Integer.parseInt(b.trim()))
                .toArray();
        for (String model : models) {
            List<ModelRegistry> registries = new ArrayList<>();
            List<Encoder> encoders = new ArrayList<>();
            for (int budget : budgets) {
                EncoderSettings settings = new EncoderSettings(
                        EncoderSettings.defaults().session(),
                        budget,
                        EncoderSettings.defaults().maxBatch());
                ModelRegistry registry = new ModelRegistry(List.of(modelsDir), settings);
                registries.add(registry);
                encoders.add(registry.encoder(model));
            }
            try {
                ModelCard card = encoders.get(0).card();
                try (Plain plain = new Plain(modelsDir.resolve(model), card, cores)) {
                    for (Map.Entry<String, List<String>> corpus : corpora.entrySet()) {
                        List<String> texts = corpus.getValue();
                        int[] lengths = plain.lengths(texts);
                        double flops = 0;
                        long tokens = 0;
                        for (int n : lengths) {
                            flops += flopsPerText(model, n);
                            tokens += n;
                        }
                        List<String> names = new ArrayList<>(
                                List.of("plain ORT, one text at a time", "plain ORT, fixed batches of 32"));
                        for (int budget : budgets) {
                            names.add("encoder, token budget " + budget);
                        }
                        double[] seconds = new double[names.size()];
                        plain.embed(texts.subList(0, 4), 1); // warm-up
                        for (Encoder encoder : encoders) {
                            encoder.encode(texts.subList(0, 4), Role.PASSAGE);
                        }
                        for (int r = 0; r < rounds; r++) {
                            long t0 = System.nanoTime();
                            plain.embed(texts, 1);
                            seconds[0] += (System.nanoTime() - t0) / 1e9;
                            t0 = System.nanoTime();
                            plain.embed(texts, 32);
                            seconds[1] += (System.nanoTime() - t0) / 1e9;
                            for (int e = 0; e < encoders.size(); e++) {
                                t0 = System.nanoTime();
                                encoders.get(e).encode(texts, Role.PASSAGE);
                                seconds[2 + e] += (System.nanoTime() - t0) / 1e9;
                            }
                        }
                        for (int m = 0; m < names.size(); m++) {
                            double gflops = flops * rounds / seconds[m] / 1e9;
                            System.out.printf(
                                    Locale.ROOT,
                                    "%-22s %-18s %-34s %9.1f %10.0f %9.1f %6.0f%% %8.2fx%n",
                                    model,
                                    corpus.getKey() + " (" + texts.size() + ")",
                                    names.get(m),
                                    texts.size() * rounds / seconds[m],
                                    tokens * rounds / seconds[m],
                                    gflops,
                                    100 * gflops / peak,
                                    seconds[0] / seconds[m]);
                        }
                    }
                }
            } finally {
                for (ModelRegistry registry : registries) {
                    registry.close();
                }
            }
        }
    }

    /** Useful FLOPs of a BERT-style encoder over one text of n tokens (d = 384; 6 layers for MiniLM-L6, else 12). */
    static double flopsPerText(String model, int n) {
        int d = 384;
        int layers = model.startsWith("all-minilm-l6") ? 6 : 12;
        return layers * (24.0 * d * d * n + 4.0 * d * n * n);
    }

    static List<String> scifact(Path data, int n) throws Exception {
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/corpus.jsonl"))) {
            if (texts.size() == n) {
                break;
            }
            JsonObject d = JsonParser.parseString(line).getAsJsonObject();
            texts.add(d.get("title").getAsString() + " " + d.get("text").getAsString());
        }
        return texts;
    }

    static List<String> sts(Path data, int n) throws Exception {
        LinkedHashSet<String> texts = new LinkedHashSet<>();
        for (String line : Files.readAllLines(data.resolve("stsb/sts-test.csv"))) {
            String[] f = line.split("\t");
            for (int i = 5; i < Math.min(7, f.length) && texts.size() < n; i++) {
                texts.add(f[i]);
            }
        }
        return new ArrayList<>(texts);
    }

    /** The plain loop: what one writes with ONNX Runtime and DJL's tokenizer and nothing else. */
    static final class Plain implements AutoCloseable {
        private final HuggingFaceTokenizer tokenizer;
        private final OrtSession session;
        private final ModelCard card;
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();

        Plain(Path dir, ModelCard card, int threads) throws Exception {
            System.setProperty("offline", "true");
            this.card = card;
            this.tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(dir.resolve("tokenizer.json"))
                    .optMaxLength(card.maxTokens())
                    .optTruncation(true)
                    .optPadding(false)
                    .build();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            this.session = env.createSession(dir.resolve("model.onnx").toString(), options);
        }

        int[] lengths(List<String> texts) {
            int[] out = new int[texts.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = tokenizer
                        .encode(card.prompt().apply(Role.PASSAGE, texts.get(i)))
                        .getIds()
                        .length;
            }
            return out;
        }

        float[][] embed(List<String> texts, int batch) throws Exception {
            float[][] out = new float[texts.size()][];
            for (int from = 0; from < texts.size(); from += batch) {
                int to = Math.min(texts.size(), from + batch);
                Encoding[] enc = new Encoding[to - from];
                int seq = 0;
                for (int i = from; i < to; i++) {
                    enc[i - from] = tokenizer.encode(card.prompt().apply(Role.PASSAGE, texts.get(i)));
                    seq = Math.max(seq, enc[i - from].getIds().length);
                }
                int b = enc.length;
                long[] ids = new long[b * seq], mask = new long[b * seq], types = new long[b * seq];
                for (int r = 0; r < b; r++) {
                    long[] id = enc[r].getIds();
                    for (int t = 0; t < id.length; t++) {
                        ids[r * seq + t] = id[t];
                        mask[r * seq + t] = 1;
                    }
                }
                long[] shape = {b, seq};
                Map<String, OnnxTensor> inputs = new HashMap<>();
                try (OnnxTensor tIds = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                        OnnxTensor tMask = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                        OnnxTensor tTypes = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape)) {
                    inputs.put("input_ids", tIds);
                    inputs.put("attention_mask", tMask);
                    if (session.getInputNames().contains("token_type_ids")) {
                        inputs.put("token_type_ids", tTypes);
                    }
                    try (OrtSession.Result result = session.run(inputs)) {
                        FloatBuffer hidden =
                                ((OnnxTensor) result.get(card.output()).orElseThrow()).getFloatBuffer();
                        int d = card.dims();
                        for (int r = 0; r < b; r++) {
                            float[] v = new float[d];
                            int n = enc[r].getIds().length;
                            if (card.pooling() == Pooling.CLS) {
                                hidden.get((r * seq) * d, v);
                            } else {
                                float[] row = new float[d];
                                for (int t = 0; t < n; t++) {
                                    hidden.get((r * seq + t) * d, row);
                                    for (int k = 0; k < d; k++) {
                                        v[k] += row[k] / n;
                                    }
                                }
                            }
                            double norm = 0;
                            for (float x : v) {
                                norm += x * x;
                            }
                            for (int k = 0; k < d; k++) {
                                v[k] /= (float) Math.sqrt(norm);
                            }
                            out[from + r] = v;
                        }
                    }
                }
            }
            return out;
        }

        @Override
        public void close() throws Exception {
            session.close();
            tokenizer.close();
        }
    }
}

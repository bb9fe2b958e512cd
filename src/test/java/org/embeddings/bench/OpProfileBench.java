package org.embeddings.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.int8.Int8ModelFiles;
import org.embeddings.encoder.int8.Int8Quantizer;
import org.embeddings.encoder.int8.IntegerKernels;
import org.embeddings.encoder.models.ModelFolders;

/**
 * Where one ONNX Runtime run of a model spends its time, by operator type, with ONNX Runtime's own profiler: the
 * fp32 graph and the int8 graph a node builds on this machine, on three shapes of batch: one SciFact query alone
 * (the lone query of a search), 32 STS sentences, and 8 SciFact documents. Each shape runs {@code bench.runs} times
 * after a warm-up, first without the profiler (the wall time per run, median) and then with it (kernel time per
 * operator type, summed over the runs, as a share of all kernel time).
 *
 * <p>Usage: {@code src/scripts/bench.sh op-profile [MODEL]}; {@code -Dbench.runs=20 -Dbench.top=12}.
 */
public final class OpProfileBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path modelsDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int runs = Integer.getInteger("bench.runs", 20);
        int top = Integer.getInteger("bench.top", 12);
        Path folder = modelsDir.resolve(model);
        ModelCard card = ModelCard.fromJson(CardCatalog.bundled(model).orElseThrow());
        IntegerKernels kernels = IntegerKernels.probe(EncoderSettings.defaults().session());
        Int8ModelFiles.Build build = Int8ModelFiles.calibrated(
                card,
                folder.resolve(ModelFolders.TOKENIZER_FILE),
                EncoderSettings.defaults().session());
        Int8Quantizer recipe = Int8Quantizer.forCard(card, kernels);
        Path int8 = new Int8ModelFiles(Files.createTempDirectory("op-profile"))
                .file(model + "-int8", folder.resolve(ModelFolders.ONNX_FILE), recipe, build)
                .file();

        Map<String, List<String>> shapes = new LinkedHashMap<>();
        List<String> queries = Int8RecipeBench.scifactQueries(data);
        shapes.put("1 query", List.of(card.prompt().apply(Role.QUERY, queries.get(0))));
        shapes.put("32 sentences", EncoderBench.sts(data, 32));
        shapes.put(
                "8 documents",
                EncoderBench.scifact(data, 8).stream()
                        .map(d -> card.prompt().apply(Role.PASSAGE, d))
                        .toList());
        System.out.printf(
                Locale.ROOT,
                "%s, integer kernels %s, %d runs per shape, %d intra-op threads%n",
                model,
                kernels,
                runs,
                EncoderSettings.defaults().session().intraOpThreads());
        System.setProperty("offline", "true");
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder()
                .optTokenizerPath(folder.resolve(ModelFolders.TOKENIZER_FILE))
                .optMaxLength(card.maxTokens())
                .optTruncation(true)
                .optPadding(false)
                .build()) {
            for (Map.Entry<String, List<String>> shape : shapes.entrySet()) {
                long[][] ids = new long[shape.getValue().size()][];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = tokenizer.encode(shape.getValue().get(i)).getIds();
                }
                int width = Arrays.stream(ids).mapToInt(a -> a.length).max().orElse(0);
                System.out.printf(Locale.ROOT, "%n== %s (padded to %d tokens)%n", shape.getKey(), width);
                Profile fp32 = profile(folder.resolve(ModelFolders.ONNX_FILE), ids, runs);
                Profile q = profile(int8, ids, runs);
                System.out.printf(
                        Locale.ROOT,
                        "wall per run: fp32 %.2f ms, int8 %.2f ms (int8 / fp32 %.2f)%n",
                        fp32.wallMillis(),
                        q.wallMillis(),
                        q.wallMillis() / fp32.wallMillis());
                print("fp32", fp32, runs, top);
                print("int8", q, runs, top);
            }
        }
    }

    /** Median wall time of a run without the profiler, and profiled kernel microseconds per operator type. */
    record Profile(double wallMillis, Map<String, Long> kernelMicros) {}

    private static void print(String label, Profile p, int runs, int top) {
        long total =
                p.kernelMicros().values().stream().mapToLong(Long::longValue).sum();
        System.out.printf(Locale.ROOT, "  %s: kernels %.2f ms per run%n", label, total / 1000.0 / runs);
        p.kernelMicros().entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(top)
                .forEach(e -> System.out.printf(
                        Locale.ROOT,
                        "    %-28s %7.3f ms %5.1f %%%n",
                        e.getKey(),
                        e.getValue() / 1000.0 / runs,
                        100.0 * e.getValue() / total));
    }

    private static Profile profile(Path onnx, long[][] ids, int runs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double wall;
        try (OrtSession.SessionOptions options = options();
                OrtSession session = env.createSession(onnx.toString(), options)) {
            double[] times = new double[runs];
            run(env, session, ids); // warm-up
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                run(env, session, ids);
                times[r] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(times);
            wall = times[runs / 2];
        }
        Map<String, Long> kernels = new TreeMap<>();
        try (OrtSession.SessionOptions options = options()) {
            Path prefix = Files.createTempFile("ort-profile", "");
            options.enableProfiling(prefix.toString());
            try (OrtSession session = env.createSession(onnx.toString(), options)) {
                run(env, session, ids);
                for (int r = 0; r < runs; r++) {
                    run(env, session, ids);
                }
                Path profile = Path.of(session.endProfiling());
                boolean first = true; // the warm-up run's events come first; skip them by run boundaries
                List<JsonElement> events = new ArrayList<>();
                JsonParser.parseString(Files.readString(profile))
                        .getAsJsonArray()
                        .forEach(events::add);
                int seen = 0;
                for (JsonElement e : events) {
                    var event = e.getAsJsonObject();
                    if ("Session".equals(event.get("cat").getAsString())
                            && event.get("name").getAsString().equals("model_run")) {
                        seen++;
                    }
                }
                int skip = seen > runs ? 1 : 0;
                int run = 0;
                for (JsonElement e : events) {
                    var event = e.getAsJsonObject();
                    String cat = event.get("cat").getAsString();
                    if ("Session".equals(cat) && event.get("name").getAsString().equals("model_run")) {
                        run++;
                        continue;
                    }
                    if ("Node".equals(cat) && event.get("name").getAsString().endsWith("_kernel_time") && run >= skip) {
                        String op = event.getAsJsonObject("args").get("op_name").getAsString();
                        kernels.merge(op, event.get("dur").getAsLong(), Long::sum);
                    }
                }
                Files.deleteIfExists(profile);
                Files.deleteIfExists(prefix);
            }
        }
        return new Profile(wall, kernels);
    }

    private static OrtSession.SessionOptions options() throws Exception {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setIntraOpNumThreads(EncoderSettings.defaults().session().intraOpThreads());
        options.setInterOpNumThreads(1);
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private static void run(OrtEnvironment env, OrtSession session, long[][] texts) throws Exception {
        int b = texts.length;
        int seq = Arrays.stream(texts).mapToInt(a -> a.length).max().orElse(0);
        long[] ids = new long[b * seq], mask = new long[b * seq];
        for (int r = 0; r < b; r++) {
            for (int t = 0; t < texts[r].length; t++) {
                ids[r * seq + t] = texts[r][t];
                mask[r * seq + t] = 1;
            }
        }
        long[] shape = {b, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try (OnnxTensor tIds = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                OnnxTensor tMask = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                OnnxTensor tTypes = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[b * seq]), shape)) {
            inputs.put("input_ids", tIds);
            inputs.put("attention_mask", tMask);
            if (session.getInputNames().contains("token_type_ids")) {
                inputs.put("token_type_ids", tTypes);
            }
            try (OrtSession.Result result = session.run(inputs)) {
                if (result.size() == 0) {
                    throw new IllegalStateException("no output");
                }
            }
        }
    }
}

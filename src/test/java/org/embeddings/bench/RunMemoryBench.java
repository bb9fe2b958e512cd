package org.embeddings.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.encoder.NativeLibraries;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.RunMemory;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.testkit.SizedRuns;

/**
 * What one ONNX Runtime run of a text costs in native memory against {@link RunMemory}'s estimate: per model, one
 * session of one intra-op thread runs a 16-token text, then texts of 128, 256 and 512 tokens, each once, in that
 * order; after each the process's resident set ({@code VmRSS}) is read. The arena keeps what a run took, so the growth
 * over the 16-token run is the working memory of the longest run so far. A second table runs the encoder's own
 * {@link OnnxModel}: 8 texts of 512 tokens (over {@link RunMemory#RELEASE_ABOVE_BYTES}: the arena shrinks after it),
 * then 5 (under it: the arena keeps it).
 *
 * <p>Usage: {@code src/scripts/bench.sh run-memory [MODEL...]} (default bge-small-en-v1.5 all-minilm-l6-v2).
 */
public final class RunMemoryBench {
    public static void main(String[] args) throws Exception {
        List<String> models = args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "all-minilm-l6-v2");
        Path root = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        OrtEnvironment env = NativeLibraries.ortEnvironment();
        System.out.printf(
                Locale.ROOT,
                "%n| model | tokens | RSS growth over 16 tokens | estimate | growth / estimate |%n"
                        + "|---|---|---|---|---|%n");
        for (String model : models) {
            ModelCard card = ModelCard.fromJson(CardCatalog.bundled(model).orElseThrow());
            RunMemory estimate = RunMemory.unbounded(model, card.dims());
            try (OrtSession.SessionOptions options = new SessionSettings(1, false).toOptions();
                    OrtSession session = env.createSession(
                            root.resolve(model).resolve(ModelFolders.ONNX_FILE).toString(), options)) {
                run(env, session, 16);
                long base = SizedRuns.residentBytes();
                for (int tokens : new int[] {128, 256, 512}) {
                    run(env, session, tokens);
                    long grown = SizedRuns.residentBytes() - base;
                    long estimated = estimate.bytes(1, tokens);
                    System.out.printf(
                            Locale.ROOT,
                            "| %s | %d | %.1f MB | %.1f MB | %.2f |%n",
                            model,
                            tokens,
                            grown / 1048576.0,
                            estimated / 1048576.0,
                            (double) grown / estimated);
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%n| model | run, in this order | estimate | gives its memory back | RSS growth over 16 tokens |%n"
                        + "|---|---|---|---|---|%n");
        for (String model : models) {
            ModelCard card = ModelCard.fromJson(CardCatalog.bundled(model).orElseThrow());
            RunMemory estimate = RunMemory.unbounded(model, card.dims());
            try (OnnxModel onnx = new OnnxModel(
                    root.resolve(model).resolve(ModelFolders.ONNX_FILE), card, new SessionSettings(1, false))) {
                SizedRuns.run(onnx, 1, 16);
                long base = SizedRuns.residentBytes();
                for (int texts : new int[] {8, 5}) {
                    SizedRuns.run(onnx, texts, 512);
                    System.out.printf(
                            Locale.ROOT,
                            "| %s | %d x 512 tokens | %.1f MB | %s | %.1f MB |%n",
                            model,
                            texts,
                            estimate.bytes(texts, 512) / 1048576.0,
                            estimate.releases(texts, 512) ? "yes" : "no",
                            (SizedRuns.residentBytes() - base) / 1048576.0);
                }
            }
        }
    }

    /** One run of a text of {@code tokens} tokens ([CLS], the same word, [SEP]; every model here reads BERT ids). */
    private static void run(OrtEnvironment env, OrtSession session, int tokens) throws Exception {
        long[] ids = SizedRuns.oneWord(tokens).ids();
        long[] mask = new long[tokens];
        Arrays.fill(mask, 1);
        long[] shape = {1, tokens};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            if (session.getInputNames().contains("attention_mask")) {
                feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            }
            if (session.getInputNames().contains("token_type_ids")) {
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[tokens]), shape));
            }
            try (OrtSession.Result ignored = session.run(feed)) {
                // only the memory the run took matters
            }
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }
}

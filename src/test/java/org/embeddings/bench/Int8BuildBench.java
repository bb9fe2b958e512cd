package org.embeddings.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.int8.ActivationProbe;
import org.embeddings.encoder.int8.Int8ModelFiles;
import org.embeddings.encoder.int8.Int8Quantizer;
import org.embeddings.encoder.int8.IntegerKernels;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * What building {@code <name>-int8} costs at load, per model, and whether caching the file pays: the SHA-256 of the
 * source (paid on every load, cached or not), the build (read, calibrate with {@link ActivationProbe}, parse,
 * quantize with the card's recipe, write; paid on a cache miss), and
 * for scale the whole first load of the fp32 model and of the int8 model through the registry (tokenizer and ONNX
 * Runtime session included; the int8 load includes hash and rewrite, from an empty cache, then again from a warm
 * one). Each step runs {@code bench.rounds} times (default 3) in a fresh directory; medians are printed.
 *
 * <p>Usage: {@code src/scripts/bench.sh int8-build [MODEL...]}
 */
public final class Int8BuildBench {
    public static void main(String[] args) throws Exception {
        List<String> models =
                args.length > 0 ? List.of(args) : List.of("bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2");
        Path modelsDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int rounds = Integer.getInteger("bench.rounds", 3);
        IntegerKernels kernels = IntegerKernels.probe(EncoderSettings.defaults().session());
        System.out.printf(
                Locale.ROOT,
                "%n| model | fp32 file MB | int8 file MB | sha256 s | calibrate + rewrite s | fp32 load s | int8 load, empty cache s | int8 load, cached s |%n"
                        + "|---|---|---|---|---|---|---|---|%n");
        for (String model : models) {
            Path source = modelsDir.resolve(model).resolve(ModelFolders.ONNX_FILE);
            double[] hash = new double[rounds];
            double[] build = new double[rounds];
            double[] fp32Load = new double[rounds];
            double[] coldLoad = new double[rounds];
            double[] warmLoad = new double[rounds];
            long int8Bytes = 0;
            for (int r = 0; r < rounds; r++) {
                Path dir = Files.createTempDirectory("int8-build");
                Path folder = modelsDir.resolve(model);
                ModelCard card = ModelCard.fromJson(CardCatalog.bundled(model).orElseThrow());
                Int8ModelFiles.Outcome o = new Int8ModelFiles(dir)
                        .file(
                                model,
                                source,
                                Int8Quantizer.forCard(card, kernels),
                                Int8ModelFiles.calibrated(
                                        card,
                                        folder.resolve(ModelFolders.TOKENIZER_FILE),
                                        EncoderSettings.defaults().session()));
                hash[r] = o.hashNanos() / 1e9;
                build[r] = o.buildNanos() / 1e9;
                int8Bytes = Files.size(o.file());

                Path cache = Files.createTempDirectory("int8-cache");
                fp32Load[r] = load(modelsDir, cache, model);
                coldLoad[r] = load(modelsDir, cache, model + "-int8");
                warmLoad[r] = load(modelsDir, cache, model + "-int8");
            }
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
                    model,
                    Files.size(source) / 1e6,
                    int8Bytes / 1e6,
                    Int8RecipeBench.median(hash),
                    Int8RecipeBench.median(build),
                    Int8RecipeBench.median(fp32Load),
                    Int8RecipeBench.median(coldLoad),
                    Int8RecipeBench.median(warmLoad));
        }
    }

    /** Seconds to the first vector of a fresh registry (what a node's first request for the model pays). */
    private static double load(Path modelsDir, Path cache, String name) {
        long t0 = System.nanoTime();
        try (ModelRegistry registry =
                new ModelRegistry(List.of(modelsDir), EncoderSettings.defaults(), Long.MAX_VALUE, cache)) {
            Encoder encoder = registry.encoder(name);
            encoder.encode("warm", Role.NONE);
            return (System.nanoTime() - t0) / 1e9;
        }
    }
}

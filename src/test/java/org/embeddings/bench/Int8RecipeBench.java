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
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.int8.ActivationProbe;
import org.embeddings.encoder.int8.ActivationRanges;
import org.embeddings.encoder.int8.ActivationScales;
import org.embeddings.encoder.int8.Int8Quantizer;
import org.embeddings.encoder.int8.Int8Quantizer.WeightMatMul;
import org.embeddings.encoder.int8.SkipLayerNormFusion;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.StsPairs;

/**
 * Which weight matmuls stay fp32: each candidate recipe of {@link Int8Quantizer} measured against the fp32 model in
 * one run, in process (no node): STSBenchmark Spearman (all 1,379 test pairs, role none), per-text cosine of its
 * vectors to the fp32 vectors (minimum and median over the STS sentences, the SciFact queries with the query role
 * and the first SciFact documents), and
 * texts/s on SciFact documents and on STS sentences as a ratio to fp32, timed round by round with the methods
 * interleaved (median of the per-round ratios), so that the other load on the machine weighs on each alike. The
 * LangChain4j {@code -q} file is measured beside them when it is installed.
 *
 * <p>Usage: {@code src/scripts/bench.sh int8-recipes MODEL [RECIPE...]} with recipes from {@link #RECIPES}, or
 * {@value #FP32_FUSED} (the fp32 graph with the rewrite's layer norm fusion only);
 * {@code -Dbench.docs=200 -Dbench.speed.docs=48 -Dbench.speed.sentences=600 -Dbench.rounds=3} set the sizes.
 */
public final class Int8RecipeBench {
    private static final Pattern LAYER = Pattern.compile("layer\\.(\\d+)/");

    /** Candidate recipes: which weight matmuls keep fp32 (BERT node names from the PyTorch export, where needed). */
    static final Map<String, Predicate<WeightMatMul>> RECIPES = new LinkedHashMap<>();

    static {
        RECIPES.put("all", w -> false);
        RECIPES.put("ffn-out-fp32", w -> w.rows() > w.cols()); // the 4d -> d projection reads GELU's long-tailed output
        RECIPES.put("attn-out-fp32", w -> w.node().contains("attention/output/dense"));
        RECIPES.put("outputs-fp32", w -> w.node().contains("output/dense")); // e5-small-v2 card before smoothing
        RECIPES.put("ends-fp32", w -> {
            int layer = layer(w.node());
            return layer == 0 || layer == lastLayer(w);
        });
        RECIPES.put("last-layer-fp32", w -> layer(w.node()) == lastLayer(w));
        RECIPES.put("qkv-only", w -> w.node().contains("attention/self") == false);
    }

    /** The model's activation ranges on the calibration texts, measured as a node measures them for an int8 build. */
    static ActivationRanges calibrate(Path folder, byte[] fp32) {
        ModelCard card = ModelCard.fromJson(
                CardCatalog.bundled(folder.getFileName().toString()).orElseThrow());
        return ActivationProbe.measure(
                        fp32,
                        card,
                        folder.resolve(ModelFolders.TOKENIZER_FILE),
                        EncoderSettings.defaults().session())
                .ranges();
    }

    private static int layer(String node) {
        Matcher m = LAYER.matcher(node);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** BERT layers have six weight matmuls each. */
    private static int lastLayer(WeightMatMul w) {
        return w.count() / 6 - 1;
    }

    /** Recipe suffix: the last layer cut to the first token ({@link Int8Quantizer#firstTokenOnly()}), as a node
     * builds the int8 form of a [CLS]-pooled model; compare with the same recipe without it. */
    static final String FIRST_TOKEN = "-first-token";

    /** Not a recipe: the fp32 graph with {@link SkipLayerNormFusion} alone, the part of the rewrite that is not int8. */
    static final String FP32_FUSED = "fp32-fused";

    /** Installs {@code onnx} as model {@code <model>-x-<recipe>} under {@code root}, with the model's tokenizer and card. */
    private static String install(Path root, String model, String recipe, byte[] onnx, Path modelsDir)
            throws java.io.IOException {
        String name = model + "-x-" + recipe;
        Path dir = Files.createDirectories(root.resolve(name));
        Files.write(dir.resolve(ModelFolders.ONNX_FILE), onnx);
        Files.copy(
                modelsDir.resolve(model).resolve(ModelFolders.TOKENIZER_FILE),
                dir.resolve(ModelFolders.TOKENIZER_FILE));
        JsonObject card = CardCatalog.bundled(model).orElseThrow();
        card.addProperty("name", name);
        Files.writeString(dir.resolve(ModelFolders.CARD_FILE), card.toString());
        return name;
    }

    /**
     * Recipes are the names above, each optionally with {@code -7bit} (weights in [-64, 64] instead of [-127, 127])
     * and then {@code -smooth} (smoothed with the activation ranges a node measures, {@link ActivationProbe}), and
     * then {@code -first-token} ({@link #FIRST_TOKEN}).
     */
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        List<String> recipes = args.length > 1 ? List.of(args).subList(1, args.length) : List.copyOf(RECIPES.keySet());
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path modelsDir = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        int rounds = Integer.getInteger("bench.rounds", 3);
        List<String> docs = EncoderBench.scifact(data, Integer.getInteger("bench.docs", 200));
        List<String> speedDocs = docs.subList(0, Math.min(docs.size(), Integer.getInteger("bench.speed.docs", 48)));
        List<String> sentences = EncoderBench.sts(data, 100_000);
        List<String> speedSentences =
                sentences.subList(0, Math.min(sentences.size(), Integer.getInteger("bench.speed.sentences", 600)));
        List<String> queries = scifactQueries(data);
        List<StsPairs.Pair> pairs = StsPairs.read(data.resolve("stsb/sts-test.csv"));

        Path root = Files.createTempDirectory("int8-recipes");
        byte[] fp32 = Files.readAllBytes(modelsDir.resolve(model).resolve(ModelFolders.ONNX_FILE));
        Map<String, String> variants = new LinkedHashMap<>(); // label -> model name in the registry
        variants.put("fp32", model);
        ActivationRanges ranges = null; // measured once, for the first -smooth recipe
        for (String recipe : recipes) {
            if (recipe.equals(FP32_FUSED)) {
                // not int8 at all: what the layer norm fusion that the int8 rewrite runs is worth on fp32 alone
                variants.put(recipe, install(root, model, recipe, SkipLayerNormFusion.fuse(fp32), modelsDir));
                continue;
            }
            Parsed p = parse(recipe);
            if (p.smooth() && ranges == null) {
                long probe = System.nanoTime();
                ranges = calibrate(modelsDir.resolve(model), fp32);
                System.out.printf(Locale.ROOT, "calibrated in %.2f s%n", (System.nanoTime() - probe) / 1e9);
            }
            long start = System.nanoTime();
            Int8Quantizer.Result r = p.quantizer().quantize(fp32, p.smooth() ? ranges : ActivationRanges.NONE);
            System.out.printf(
                    Locale.ROOT,
                    "%-16s %d weight matmuls int8, %d fp32, %d biases folded, %d smoothed, %.1f MB, quantized in %.2f s%n",
                    recipe,
                    r.quantized(),
                    r.keptFp32(),
                    r.biasesFolded(),
                    r.smoothed(),
                    r.model().length / 1e6,
                    (System.nanoTime() - start) / 1e9);
            variants.put(recipe, install(root, model, recipe, r.model(), modelsDir));
        }
        if (Files.isDirectory(modelsDir.resolve(model + "-q"))) {
            variants.put("lc4j -q", model + "-q");
        }

        try (ModelRegistry registry = new ModelRegistry(List.of(modelsDir, root), EncoderSettings.defaults())) {
            Map<String, Encoder> encoders = new LinkedHashMap<>();
            variants.forEach((label, name) -> encoders.put(label, registry.encoder(name)));
            Encoder base = encoders.get("fp32");
            float[][] baseSentences = base.encode(sentences, Role.NONE);
            float[][] baseDocs = base.encode(docs, Role.PASSAGE);
            float[][] baseQueries = base.encode(queries, Role.QUERY);

            System.out.printf(
                    Locale.ROOT,
                    "%n%s: %d STS pairs, cosine to fp32 over %d STS sentences and %d SciFact documents; speed on %d documents and %d sentences, %d rounds, interleaved%n",
                    model,
                    pairs.size(),
                    sentences.size(),
                    docs.size(),
                    speedDocs.size(),
                    speedSentences.size(),
                    rounds);
            Map<String, double[]> docSeconds = new LinkedHashMap<>();
            Map<String, double[]> sentenceSeconds = new LinkedHashMap<>();
            encoders.keySet().forEach(l -> {
                docSeconds.put(l, new double[rounds]);
                sentenceSeconds.put(l, new double[rounds]);
            });
            for (Encoder e : encoders.values()) {
                e.encode(speedSentences.subList(0, 32), Role.NONE); // warm-up
            }
            for (int round = 0; round < rounds; round++) {
                for (Map.Entry<String, Encoder> e : encoders.entrySet()) {
                    long t0 = System.nanoTime();
                    e.getValue().encode(speedDocs, Role.PASSAGE);
                    long t1 = System.nanoTime();
                    e.getValue().encode(speedSentences, Role.NONE);
                    long t2 = System.nanoTime();
                    docSeconds.get(e.getKey())[round] = (t1 - t0) / 1e9;
                    sentenceSeconds.get(e.getKey())[round] = (t2 - t1) / 1e9;
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-16s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s%n",
                    "recipe",
                    "STS",
                    "sts cmin",
                    "sts cmed",
                    "qry cmin",
                    "qry cmed",
                    "doc cmin",
                    "doc cmed",
                    "docs/s",
                    "x fp32",
                    "sents/s",
                    "x fp32");
            for (Map.Entry<String, Encoder> e : encoders.entrySet()) {
                String label = e.getKey();
                double sts = StsPairs.spearman(texts -> e.getValue().encode(texts, Role.NONE), pairs);
                double[] sc = cosines(e.getValue().encode(sentences, Role.NONE), baseSentences);
                double[] dc = cosines(e.getValue().encode(docs, Role.PASSAGE), baseDocs);
                double[] qc = cosines(e.getValue().encode(queries, Role.QUERY), baseQueries);
                System.out.printf(
                        Locale.ROOT,
                        "%-16s %9.2f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.2f %9.2f %9.1f %9.2f%n",
                        label,
                        sts,
                        sc[0],
                        sc[1],
                        qc[0],
                        qc[1],
                        dc[0],
                        dc[1],
                        speedDocs.size() / median(docSeconds.get(label)),
                        medianRatio(docSeconds.get("fp32"), docSeconds.get(label)),
                        speedSentences.size() / median(sentenceSeconds.get(label)),
                        medianRatio(sentenceSeconds.get("fp32"), sentenceSeconds.get(label)));
            }
        }
    }

    /** A recipe name: a base from {@link #RECIPES} and its suffixes. */
    record Parsed(Int8Quantizer quantizer, boolean smooth) {}

    /**
     * Parses {@code base[-7bit][-smooth][-dynamic|-static|-row][-m<margin>][-first-token]}, suffixes in any order:
     * 7-bit weights, smoothing with the ranges a node measures, how activations are scaled (default: static, as a
     * node builds), a static range margin, and the first-token cut.
     */
    static Parsed parse(String recipe) {
        String rest = recipe;
        boolean smooth = false, reduced = false, firstToken = false;
        ActivationScales scales = ActivationScales.STATIC;
        float margin = 1f;
        Predicate<Int8Quantizer.Input> perRow = in -> false;
        for (boolean more = true; more; ) {
            more = true;
            if (rest.endsWith("-smooth")) {
                smooth = true;
            } else if (rest.endsWith("-7bit")) {
                reduced = true;
            } else if (rest.endsWith(FIRST_TOKEN)) {
                firstToken = true;
            } else if (rest.endsWith("-dynamic")) {
                scales = ActivationScales.DYNAMIC_TENSOR;
            } else if (rest.endsWith("-static")) {
                scales = ActivationScales.STATIC;
            } else if (rest.endsWith("-row")) {
                scales = ActivationScales.PER_ROW;
            } else if (rest.endsWith("-rowffn")) { // static, but per-row for the FFN output projection's input
                perRow = perRow.or(in -> in.width() > in.outputWidth());
            } else if (rest.endsWith("-rowplain")) { // static, but per-row for every input that is not smoothed
                perRow = perRow.or(in -> in.smoothed() == false);
            } else if (rest.endsWith("-rowsmooth")) { // static, but per-row for the smoothed layer norm outputs
                perRow = perRow.or(Int8Quantizer.Input::smoothed);
            } else if (rest.matches(".*-m[0-9.]+")) {
                margin = Float.parseFloat(rest.substring(rest.lastIndexOf("-m") + 2));
            } else {
                more = false;
            }
            if (more) {
                String suffix = rest.endsWith(FIRST_TOKEN) ? FIRST_TOKEN : rest.substring(rest.lastIndexOf('-'));
                rest = rest.substring(0, rest.length() - suffix.length());
            }
        }
        Predicate<WeightMatMul> keep = RECIPES.get(rest);
        if (keep == null) {
            throw new IllegalArgumentException("unknown recipe [" + recipe + "], expected one of " + RECIPES.keySet());
        }
        Int8Quantizer q =
                new Int8Quantizer(keep).activations(scales).margin(margin).perRow(perRow);
        q = reduced ? q.reducedRange() : q;
        return new Parsed(firstToken ? q.firstTokenOnly() : q, smooth);
    }

    static List<String> scifactQueries(Path data) throws Exception {
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("scifact/queries.jsonl"))) {
            texts.add(JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
        }
        return texts;
    }

    /** {min, median} of the per-text cosine between two sets of vectors. */
    static double[] cosines(float[][] a, float[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = RecipeReference.cosine(a[i], b[i]);
        }
        Arrays.sort(c);
        return new double[] {c[0], c[c.length / 2]};
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Median over rounds of baseline seconds / these seconds: how many times faster, round by round. */
    static double medianRatio(double[] baseline, double[] seconds) {
        double[] r = new double[seconds.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = baseline[i] / seconds[i];
        }
        return median(r);
    }

    static List<String> firstN(List<String> texts, int n) {
        return new ArrayList<>(texts.subList(0, Math.min(n, texts.size())));
    }
}

package org.embeddings.encoder.int8;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.NativeLibraries;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.TestModelFiles;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelFolders;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RecipeReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code <name>-int8} on a real model (all-minilm-l6-v2, the smallest of the Maven Central models): the rewritten
 * graph runs its weight matmuls as integer kernels, its vectors stay close to the fp32 vectors, and the name rule
 * works in the registry (derived form listed, card kept under its own name, a real folder wins, unknown bases are
 * refused, the memory limit counts the int8 file). Skipped when the model folders are absent.
 */
public class Int8RealModelTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static final String INT8 = MODEL + "-int8";
    /**
     * The lowest cosine between an int8 vector and the fp32 vector of the same text that this test accepts.
     * Measured with {@code bench.sh int8-recipes all-minilm-l6-v2} (docs/int8.md): for all-minilm-l6-v2, the least
     * faithful of the three models, the minimum over the 2,552 STS test sentences was 0.991 with full-range weights
     * and 0.985 with the 7-bit weights of CPUs without VNNI, medians 0.9987 and 0.9978; bge-small-en-v1.5 and
     * e5-small-v2 stay above 0.994. Short texts are the worst case (mean pooling over a few tokens averages little
     * quantization noise away). 0.98 sits under the measured minima on both kinds of CPU, so a rewrite that loses
     * accuracy anywhere (a wrong scale, a dropped bias, a transposed weight, integer kernels that saturate: those
     * put texts at 0.95 and below) fails.
     */
    private static final double MIN_COSINE = 0.98;

    private static final List<String> TEXTS = List.of(
            "how much protein should a female eat",
            "A man is playing a flute.",
            "Tides are caused by the gravitational pull of the moon and, to a lesser degree, the sun.",
            "naïve café résumé — Unicode survives tokenization",
            "The 2019 novel coronavirus outbreak was first identified in Wuhan, where a cluster of pneumonia cases of unknown cause "
                    + "appeared in December. Genome sequencing of samples from patients identified a betacoronavirus closely related to "
                    + "bat SARS-like coronaviruses, and human-to-human transmission was confirmed within weeks.",
            "ok");

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path models;
    private Path root;
    private Path int8Dir;
    private ModelRegistry registry;

    @Before
    public void setUp() throws Exception {
        models = TestModelFiles.folder(MODEL).getParent();
        System.setProperty("offline", "true");
        root = tmp.newFolder("models").toPath();
        int8Dir = tmp.getRoot().toPath().resolve("int8");
        install(MODEL, MODEL);
        registry = new ModelRegistry(List.of(root), EncoderSettings.defaults(), Long.MAX_VALUE, int8Dir);
    }

    @After
    public void tearDown() {
        if (registry != null) {
            registry.close();
        }
    }

    /** Links a model folder's files under another name, the way a user installs a model. */
    private void install(String source, String name) throws Exception {
        TestModelFiles.link(source, root, name);
    }

    /** The one int8 file in the cache (beside its checksum). */
    private Path int8File() throws Exception {
        try (var files = Files.list(int8Dir)) {
            List<Path> all = files.filter(f -> f.toString().endsWith(".onnx")).toList();
            assertEquals(all.toString(), 1, all.size());
            return all.get(0);
        }
    }

    @Test
    public void int8VectorsStayCloseToFp32AndWeightMatMulsRunOnIntegerKernels() throws Exception {
        Encoder fp32 = registry.encoder(MODEL);
        Encoder int8 = registry.encoder(INT8);
        for (Role role : List.of(Role.PASSAGE, Role.QUERY)) {
            float[][] a = fp32.encode(TEXTS, role);
            float[][] b = int8.encode(TEXTS, role);
            for (int i = 0; i < TEXTS.size(); i++) {
                double cos = RecipeReference.cosine(a[i], b[i]);
                assertTrue("text " + i + " cosine " + cos, cos >= MIN_COSINE);
                assertTrue("text " + i + " is really another graph's output (cosine " + cos + ")", cos < 0.999999);
            }
        }

        // the graph: in each of the 6 layers every weight matmul is integer (q, k, v, attention output, FFN in, FFN
        // out; the attention score and context matmuls have no weights to quantize); the inputs of q, k, v (one layer
        // norm's output) and of FFN in (another's) are smoothed, each by one Mul that its quantized readers share,
        // and quantized by one static QuantizeLinear; the FFN output projection reads the wide GELU output with
        // per-row scales (a per-axis QuantizeLinear of its own)
        Path file = int8File();
        ModelProto int8Model = ModelProto.parseFrom(Files.readAllBytes(file));
        GraphProto graph = int8Model.getGraph();
        Set<String> constants = new HashSet<>();
        graph.getInitializerList().forEach(t -> constants.add(t.getName()));
        Map<String, Integer> ops = new TreeMap<>();
        int smoothedReaders = 0;
        int perAxis = 0;
        for (NodeProto n : graph.getNodeList()) {
            ops.merge(n.getOpType(), 1, Integer::sum);
            assertFalse(
                    "MatMul " + n.getName() + " kept fp32 weights",
                    n.getOpType().equals("MatMul") && constants.contains(n.getInput(1)));
            if (n.getOpType().equals("MatMulIntegerToFloat") && n.getInput(0).endsWith("_smoothed_uint8")) {
                smoothedReaders++;
            }
            if (n.getOpType().equals("QuantizeLinear") && n.getDomain().equals(Int8Quantizer.MS_DOMAIN)) {
                perAxis++;
            }
        }
        assertEquals(ops.toString(), 36, (int) ops.get("MatMulIntegerToFloat"));
        assertFalse(ops.toString(), ops.containsKey("DynamicQuantizeMatMul"));
        assertEquals("attention scores and contexts", 12, (int) ops.get("MatMul"));
        assertEquals("q, k, v and FFN in of 6 layers", 6 * 4, smoothedReaders);
        assertEquals(
                "a static QuantizeLinear per layer norm output and attention context, a per-row one per GELU output",
                6 * 3 + 6,
                (int) ops.get("QuantizeLinear"));
        assertEquals(6, perAxis);
        // both residual sums of each layer and their layer norms are one SkipLayerNormalization; the embeddings'
        // layer norm (its sum broadcasts the position table) stays written out, for ONNX Runtime to fuse
        assertEquals(ops.toString(), 2 * 6, (int) ops.get("SkipLayerNormalization"));
        assertEquals(ops.toString(), 1, (int) ops.get("Sqrt"));
        assertTrue(
                int8Model.getMetadataPropsList().toString(),
                int8Model.getMetadataPropsList().stream()
                        .anyMatch(m -> m.getKey().equals(Int8Quantizer.METADATA_KEY)
                                && m.getValue().contains("version=" + Int8Quantizer.VERSION)
                                && m.getValue().contains("smoothed=24")
                                && m.getValue().contains("static_inputs=18")
                                && m.getValue().contains("per_row_inputs=6")
                                && m.getValue().contains("skip_layer_norms=12")
                                && m.getValue().contains("first_token_only=false")));
        assertTrue(
                "a mean-pooled model reads every position: nothing is cut",
                graph.getNodeList().stream().noneMatch(n -> n.getOutput(0).endsWith("_first_token")));
        long fp32Bytes = Files.size(models.resolve(MODEL).resolve("model.onnx"));
        // every quantized matrix saves 3 of its 4 bytes per weight (scales and smoothing vectors add a little back)
        long int8Weights = graph.getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.INT8.getNumber() && t.getDimsCount() == 2)
                .mapToLong(t -> t.getDims(0) * t.getDims(1))
                .sum();
        assertTrue(
                "int8 file " + Files.size(file) + " vs fp32 " + fp32Bytes + ", " + int8Weights + " int8 weights",
                fp32Bytes - Files.size(file) > 0.95 * 3 * int8Weights);
        assertEquals(Files.size(file), registry.loadedBytes(INT8));

        // ONNX Runtime's profiler: the integer kernels ran, on the CPU provider, in the session the encoder uses
        Map<String, Integer> kernels = profiledKernels(file);
        assertEquals(kernels.toString(), 36, (int) kernels.getOrDefault("MatMulIntegerToFloat", 0));
        assertEquals(kernels.toString(), 24, (int) kernels.getOrDefault("QuantizeLinear", 0));
        assertEquals(kernels.toString(), 12, (int) kernels.getOrDefault("SkipLayerNormalization", 0));
        assertEquals(kernels.toString(), 1, (int) kernels.getOrDefault("LayerNormalization", 0));
        assertFalse(kernels.toString(), kernels.containsKey("Gemm"));
    }

    @Test
    public void aCardsInt8RecipeKeepsItsMatmulsFp32() throws Exception {
        String e5 = "e5-small-v2";
        install(e5, e5);
        // a user's card layer over the bundled card: both output projections of every layer stay fp32
        Files.writeString(root.resolve(e5).resolve(ModelFolders.CARD_FILE), "{\"int8_fp32\": \"output/dense\"}");
        String pattern = registry.card(e5).int8Fp32();
        assertEquals("the folder card's recipe", "output/dense", pattern);
        Encoder fp32 = registry.encoder(e5);
        Encoder int8 = registry.encoder(e5 + "-int8");
        float[][] a = fp32.encode(TEXTS, Role.PASSAGE);
        float[][] b = int8.encode(TEXTS, Role.PASSAGE);
        for (int i = 0; i < TEXTS.size(); i++) {
            double cos = RecipeReference.cosine(a[i], b[i]);
            assertTrue("text " + i + " cosine " + cos, cos >= MIN_COSINE && cos < 0.999999);
        }
        // 12 layers: q, k, v and FFN in are integer; attention output and FFN output keep fp32 weights
        GraphProto graph = ModelProto.parseFrom(Files.readAllBytes(int8File())).getGraph();
        Set<String> constants = new HashSet<>();
        graph.getInitializerList().forEach(t -> constants.add(t.getName()));
        int quantized = 0;
        int fp32Weights = 0;
        for (NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("MatMulIntegerToFloat")) {
                quantized++;
            } else if (n.getOpType().equals("MatMul") && constants.contains(n.getInput(1))) {
                assertTrue(
                        "MatMul " + n.getName() + " kept fp32 weights",
                        n.getName().contains("output/dense"));
                fp32Weights++;
            }
        }
        assertEquals(48, quantized);
        assertEquals(24, fp32Weights);
    }

    /**
     * bge-small-en-v1.5 is pooled by its [CLS] token alone, so its int8 form computes the last layer for that token
     * only ({@link FirstTokenPruning}). The vectors must be those of the same int8 recipe without the cut, up to
     * rounding: with static and per-row activation scales, no row's arithmetic depends on the rows the cut drops.
     * A cut on the wrong rows or axis, or an encoder that reads the shorter output at the input's stride, gives
     * another text's vector or garbage for every row but the first, far below 0.999999.
     */
    @Test
    public void aClsPooledModelsLastLayerRunsOnItsFirstTokenOnly() throws Exception {
        String bge = "bge-small-en-v1.5";
        install(bge, bge);
        ModelCard card = registry.card(bge);
        assertTrue(card.poolsFirstTokenOnly());
        Path folder = root.resolve(bge);
        Path uncutFile = new Int8ModelFiles(tmp.newFolder("uncut").toPath())
                .file(
                        bge,
                        folder.resolve(ModelFolders.ONNX_FILE),
                        Int8QuantizerTest.forThisMachine(Int8Quantizer.recipe()),
                        Int8ModelFiles.calibrated(
                                card,
                                folder.resolve(ModelFolders.TOKENIZER_FILE),
                                EncoderSettings.defaults().session()))
                .file();
        Encoder fp32 = registry.encoder(bge);
        Encoder cut = registry.encoder(bge + "-int8");
        try (Encoder uncut = open(uncutFile, card, folder)) {
            for (Role role : List.of(Role.PASSAGE, Role.QUERY)) {
                float[][] a = fp32.encode(TEXTS, role);
                float[][] b = cut.encode(TEXTS, role);
                float[][] c = uncut.encode(TEXTS, role);
                for (int i = 0; i < TEXTS.size(); i++) {
                    double same = RecipeReference.cosine(b[i], c[i]);
                    assertTrue("text " + i + " cut vs uncut cosine " + same, same >= 0.999999);
                    double toFp32 = RecipeReference.cosine(a[i], b[i]);
                    assertTrue("text " + i + " cosine to fp32 " + toFp32, toFp32 >= MIN_COSINE);
                }
            }
            // the stats count the width fed, not the one position the cut graph returns
            assertEquals(
                    uncut.stats().snapshot().paddedTokens(),
                    cut.stats().snapshot().paddedTokens());
        }
        Path file;
        try (var files = Files.list(int8Dir)) {
            file = files.filter(f -> f.getFileName().toString().startsWith(bge + "-")
                            && f.toString().endsWith(".onnx"))
                    .findFirst()
                    .orElseThrow();
        }
        assertTrue(file.toString(), file.getFileName().toString().endsWith("-first-token.onnx"));
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(file));
        GraphProto graph = model.getGraph();
        List<NodeProto> slices = graph.getNodeList().stream()
                .filter(n -> n.getOpType().equals("Slice") && n.getOutput(0).endsWith("_first_token"))
                .toList();
        // one for the last layer's query input (the smoothed layer norm output, quantized), one for its residual
        assertEquals(slices.toString(), 2, slices.size());
        assertTrue(
                slices.toString(), slices.stream().anyMatch(n -> n.getInput(0).endsWith("_smoothed_uint8")));
        assertTrue(slices.stream().allMatch(n -> n.getInput(0).contains("layer.10/output/LayerNorm")));
        assertEquals(
                1,
                graph.getOutput(0)
                        .getType()
                        .getTensorType()
                        .getShape()
                        .getDim(1)
                        .getDimValue());
        assertTrue(
                model.getMetadataPropsList().toString(),
                model.getMetadataPropsList().stream().anyMatch(m -> m.getValue().contains("first_token_only=true")));
    }

    /** An encoder over {@code onnx} with {@code card} and the tokenizer in {@code folder}, as the registry opens one. */
    private static Encoder open(Path onnx, ModelCard card, Path folder) {
        NativeThread thread = new NativeThread(card.name() + "-uncut");
        return thread.call(() -> new Encoder(
                card,
                new ModelTokenizer(folder.resolve(ModelFolders.TOKENIZER_FILE), card.maxTokens()),
                new OnnxModel(onnx, card, EncoderSettings.defaults().session()),
                EncoderSettings.defaults().batcher(),
                thread));
    }

    /** Runs one batch with ORT's profiler on and counts kernel executions per operator type. */
    private static Map<String, Integer> profiledKernels(Path onnx) throws Exception {
        var env = NativeLibraries.ortEnvironment();
        Map<String, Integer> kernels = new TreeMap<>();
        try (OrtSession.SessionOptions options = new SessionSettings(2, false).toOptions()) {
            options.enableProfiling(onnx.resolveSibling("profile").toString());
            try (OrtSession session = env.createSession(onnx.toString(), options)) {
                long[] ids = {101, 7592, 2088, 102, 101, 2088, 102, 0};
                long[] mask = {1, 1, 1, 1, 1, 1, 1, 0};
                Map<String, OnnxTensor> feed = new HashMap<>();
                feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {2, 4}));
                feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {2, 4}));
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[8]), new long[] {2, 4
                }));
                try (OrtSession.Result r = session.run(feed)) {
                    assertTrue(r.size() >= 1);
                } finally {
                    feed.values().forEach(OnnxTensor::close);
                }
                String profile = session.endProfiling();
                try {
                    for (JsonElement e : JsonParser.parseString(Files.readString(Path.of(profile)))
                            .getAsJsonArray()) {
                        var event = e.getAsJsonObject();
                        if ("Node".equals(event.get("cat").getAsString())
                                && event.get("name").getAsString().endsWith("_kernel_time")) {
                            var args = event.getAsJsonObject("args");
                            assertEquals(
                                    "CPUExecutionProvider", args.get("provider").getAsString());
                            kernels.merge(args.get("op_name").getAsString(), 1, Integer::sum);
                        }
                    }
                } finally {
                    Files.deleteIfExists(Path.of(profile));
                }
            }
        }
        return kernels;
    }

    @Test
    public void theDerivedNameIsListedAndKeepsItsBaseModelsCard() {
        assertEquals(List.of(MODEL, INT8), registry.installed());
        ModelCard base = registry.installedCard(MODEL);
        ModelCard card = registry.installedCard(INT8);
        assertEquals(INT8, card.name());
        assertEquals(base.withName(INT8), card);
        assertEquals(INT8, registry.card(INT8.toUpperCase(Locale.ROOT)).name());
        assertTrue("resolving a card builds nothing", Files.exists(int8Dir) == false);
        assertEquals(INT8, registry.encoder(INT8).card().name());
        assertEquals(List.of(INT8), registry.loadedNames());
    }

    @Test
    public void aFolderNamedLikeTheDerivedFormWins() throws Exception {
        install(MODEL + "-q", INT8); // a user's own int8 file under that name, with a card since none is bundled for it
        Files.writeString(root.resolve(INT8).resolve(ModelFolders.CARD_FILE), "{\"dims\": 384, \"pooling\": \"mean\"}");
        assertEquals(List.of(MODEL, INT8), registry.installed());
        registry.encoder(INT8);
        assertEquals(Files.size(models.resolve(MODEL + "-q").resolve("model.onnx")), registry.loadedBytes(INT8));
        assertFalse("nothing was quantized", Files.exists(int8Dir));
    }

    @Test
    public void anInt8NameWithoutAnInstalledBaseIsAnUnknownModel() {
        UnknownModelException unknown = assertThrows(UnknownModelException.class, () -> registry.encoder("nope-int8"));
        assertTrue(unknown.getMessage(), unknown.getMessage().startsWith("unknown model [nope-int8]"));
        assertThrows(UnknownModelException.class, () -> registry.card("nope-int8"));
        UnknownModelException notInstalled =
                assertThrows(UnknownModelException.class, () -> registry.encoder("e5-small-v2-int8"));
        assertTrue(
                notInstalled.getMessage(),
                notInstalled.getMessage().contains("int8 form of [e5-small-v2], which is not installed"));
        // a bundled card gives a mapping its dims on a node without the model, for the int8 form too
        assertEquals("e5-small-v2-int8", registry.card("e5-small-v2-int8").name());
        assertThrows(InvalidInputException.class, () -> registry.encoder("-int8"));
    }

    @Test
    public void theMemoryLimitCountsTheInt8FilesBytes() throws Exception {
        long int8Bytes;
        try (ModelRegistry unlimited =
                new ModelRegistry(List.of(root), EncoderSettings.defaults(), Long.MAX_VALUE, int8Dir)) {
            unlimited.encoder(INT8);
            int8Bytes = unlimited.loadedBytes(INT8);
        }
        try (ModelRegistry limited = new ModelRegistry(List.of(root), EncoderSettings.defaults(), int8Bytes, int8Dir)) {
            assertThrows(ModelMemoryLimitException.class, () -> limited.encoder(MODEL));
            limited.encoder(INT8);
            assertEquals(int8Bytes, limited.loadedBytes());
        }
    }
}

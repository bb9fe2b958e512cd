package org.embeddings.encoder;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Resolves a model name to a loaded {@link Encoder}, once per node.
 *
 * <p>A model is installed by placing {@code model.onnx} and {@code tokenizer.json} in {@code <root>/<name>/}; roots
 * are searched in order (the node's {@code config/embeddings/models} before the plugin's bundled {@code models}).
 * Its card is the bundled card of that name, overlaid by what the folder's sentence-transformers files say
 * ({@link SentenceTransformersConfig}), overlaid by the folder's {@code card.json}; a folder with either needs no
 * bundled card. Names are checked by
 * {@link ModelName} before any path is built, and a folder that resolves outside its root (a symbolic link) is
 * refused. Loading happens on first use; a load that fails is not remembered, so a fixed folder loads next time.
 *
 * <p>{@code <name>-int8} with no folder of its own names the int8 form of the installed model {@code <name>}
 * ({@link Int8Name}): the same card under its own name, run from the int8 file that {@link Int8ModelFiles} builds
 * from {@code <name>/model.onnx} when it is first loaded.
 */
public final class ModelRegistry implements Closeable {
    public static final String ONNX_FILE = "model.onnx";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String CARD_FILE = "card.json";

    private final List<Path> roots;
    private final EncoderSettings settings;
    private final ConcurrentHashMap<String, Encoder> loaded = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> loadedBytes = new ConcurrentHashMap<>();
    private final long maxLoadedBytes;
    private final AtomicLong reservedBytes = new AtomicLong();
    private final Int8ModelFiles int8Files;

    public ModelRegistry(List<Path> roots, EncoderSettings settings) {
        this(roots, settings, Long.MAX_VALUE);
    }

    public ModelRegistry(List<Path> roots, EncoderSettings settings, long maxLoadedBytes) {
        this(roots, settings, maxLoadedBytes, Path.of(System.getProperty("java.io.tmpdir"), "embeddings-int8"));
    }

    /**
     * @param maxLoadedBytes the most bytes of model files ({@code model.onnx}, whose weights ONNX Runtime holds in
     *                       native memory) this node may have loaded at once; a load past it is refused
     * @param int8Dir        where the int8 files of derived {@code <name>-int8} models are built and kept
     */
    public ModelRegistry(List<Path> roots, EncoderSettings settings, long maxLoadedBytes, Path int8Dir) {
        this.roots = List.copyOf(roots);
        this.settings = settings;
        this.maxLoadedBytes = maxLoadedBytes;
        this.int8Files = new Int8ModelFiles(int8Dir, Int8Quantizer.recipe());
    }

    /** Bytes of model files loaded on this node (the sum that {@code maxLoadedBytes} bounds). */
    public long loadedBytes() {
        return reservedBytes.get();
    }

    public long maxLoadedBytes() {
        return maxLoadedBytes;
    }

    /** The loaded encoder for a model name typed by a user, loading it on first use. */
    public Encoder encoder(String name) {
        String n = ModelName.normalize(name);
        Encoder existing = loaded.get(n);
        if (existing != null) {
            return existing;
        }
        return loaded.computeIfAbsent(n, this::load);
    }

    /**
     * The card a model name resolves to, without loading the model: the installed folder's card when the model is
     * installed, else the bundled card (so a mapping can take dims from a model this node does not hold); fails for
     * a name that is neither.
     */
    public ModelCard card(String name) {
        String n = ModelName.normalize(name);
        Encoder existing = loaded.get(n);
        if (existing != null) {
            return existing.card();
        }
        Optional<Path> folder = folder(n);
        if (folder.isPresent()) {
            return resolveCard(n, folder.get());
        }
        Optional<String> int8Base = int8Base(n).filter(b -> folder(b).isPresent() || CardCatalog.bundled(b).isPresent());
        if (int8Base.isPresent()) {
            return card(int8Base.get()).withName(n);
        }
        return CardCatalog.bundled(n).map(json -> {
            json.addProperty("name", n);
            return ModelCard.fromJson(json);
        }).orElseThrow(() -> unknown(n));
    }

    /**
     * The card of a model this node can run; fails with a 4xx-mapped error naming the installed models when
     * {@code name} is unknown or known but not installed here.
     */
    public ModelCard installedCard(String name) {
        String n = ModelName.normalize(name);
        Encoder existing = loaded.get(n);
        if (existing != null) {
            return existing.card();
        }
        Optional<String> int8Base = int8Base(n).filter(b -> folder(b).isPresent());
        if (int8Base.isPresent()) {
            return installedCard(int8Base.get()).withName(n);
        }
        Path folder = folder(n).orElseThrow(() -> unknown(n));
        return resolveCard(n, folder);
    }

    public List<String> installed() {
        List<String> names = new ArrayList<>();
        for (Path root : roots) {
            if (Files.isDirectory(root) == false) {
                continue;
            }
            try (var dirs = Files.list(root)) {
                dirs.filter(d -> Files.isRegularFile(d.resolve(ONNX_FILE)))
                    .map(d -> d.getFileName().toString())
                    .filter(n -> names.contains(n) == false)
                    .forEach(names::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        for (String name : List.copyOf(names)) {
            if (Int8Name.base(name).isEmpty() && names.contains(Int8Name.of(name)) == false) {
                names.add(Int8Name.of(name));
            }
        }
        names.sort(null);
        return names;
    }

    /** Names of the models loaded on this node, sorted. */
    public List<String> loadedNames() {
        return loaded.keySet().stream().sorted().toList();
    }

    public Optional<Encoder> loadedEncoder(String name) {
        return Optional.ofNullable(loaded.get(ModelName.normalize(name)));
    }

    private Encoder load(String name) {
        Optional<String> int8Base = int8Base(name).filter(b -> folder(b).isPresent());
        Path folder = folder(int8Base.orElse(name)).orElseThrow(() -> unknown(name));
        ModelCard card = int8Base.isPresent() ? resolveCard(int8Base.get(), folder).withName(name) : resolveCard(name, folder);
        Path onnx = int8Base.isPresent() ? int8Files.file(name, folder.resolve(ONNX_FILE)).file() : folder.resolve(ONNX_FILE);
        long bytes = fileSize(onnx);
        long before = reservedBytes.getAndAdd(bytes);
        if (before + bytes > maxLoadedBytes) {
            reservedBytes.addAndGet(-bytes);
            throw new ModelMemoryLimitException(
                "loading model [" + name + "] (" + bytes + " bytes) would take this node's loaded models to " + (before + bytes)
                    + " bytes, past embeddings.models.max_loaded_bytes [" + maxLoadedBytes + "]; loaded: " + loadedNames()
            );
        }
        try {
            Encoder encoder = loadReserved(name, folder, onnx, card);
            loadedBytes.put(name, bytes);
            return encoder;
        } catch (RuntimeException | Error e) {
            reservedBytes.addAndGet(-bytes);
            throw e;
        }
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes of the model file of a loaded model, or 0. */
    public long loadedBytes(String name) {
        return loadedBytes.getOrDefault(ModelName.normalize(name), 0L);
    }

    private Encoder loadReserved(String name, Path folder, Path onnx, ModelCard card) {
        Path tokenizerFile = folder.resolve(TOKENIZER_FILE);
        if (Files.isRegularFile(tokenizerFile) == false) {
            throw new ModelLoadException("model [" + name + "] folder [" + folder + "] has no " + TOKENIZER_FILE);
        }
        NativeThread thread = new NativeThread(name);
        try {
            return thread.call(() -> {
                ModelTokenizer tokenizer = new ModelTokenizer(tokenizerFile, card.maxTokens());
                try {
                    OnnxModel model = new OnnxModel(onnx, card, settings.session());
                    return new Encoder(card, tokenizer, model, settings.batcher(), thread);
                } catch (RuntimeException e) {
                    tokenizer.close();
                    throw e;
                }
            });
        } catch (RuntimeException | Error e) {
            thread.close();
            throw e;
        }
    }

    private ModelCard resolveCard(String name, Path folder) {
        JsonObject json = ModelCard.merge(CardCatalog.bundled(name).orElseGet(JsonObject::new), SentenceTransformersConfig.read(folder));
        Path cardFile = folder.resolve(CARD_FILE);
        if (Files.isRegularFile(cardFile)) {
            try {
                json = ModelCard.merge(json, JsonParser.parseString(Files.readString(cardFile, StandardCharsets.UTF_8)).getAsJsonObject());
            } catch (IOException | RuntimeException e) {
                throw new ModelLoadException("cannot read [" + cardFile + "]: " + e.getMessage(), e);
            }
        }
        if (json.size() == 0) {
            throw new ModelLoadException(
                "model [" + name + "] has no card: add " + CARD_FILE + " to [" + folder + "] with at least dims and pooling, "
                    + "or the model's sentence-transformers files"
            );
        }
        json.addProperty("name", name);
        return ModelCard.fromJson(json);
    }

    /** The base model when {@code name} names a derived int8 form: it has the suffix and no folder of its own. */
    private Optional<String> int8Base(String name) {
        return Int8Name.base(name).filter(b -> folder(name).isEmpty());
    }

    private Optional<Path> folder(String name) {
        for (Path root : roots) {
            Path candidate = root.resolve(name);
            if (Files.isRegularFile(candidate.resolve(ONNX_FILE)) == false) {
                continue;
            }
            try {
                Path real = candidate.toRealPath();
                if (real.startsWith(root.toRealPath()) == false) {
                    throw new InvalidInputException("model [" + name + "] resolves outside its model directory; refusing it");
                }
                return Optional.of(real);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Optional.empty();
    }

    private UnknownModelException unknown(String name) {
        Optional<String> int8Base = Int8Name.base(name).filter(b -> CardCatalog.bundled(b).isPresent());
        if (int8Base.isPresent()) {
            return new UnknownModelException(
                "model [" + name + "] is the int8 form of [" + int8Base.get() + "], which is not installed on this node (place model.onnx and "
                    + "tokenizer.json in " + roots.get(0).resolve(int8Base.get()) + "); installed models: " + installed()
            );
        }
        String known = CardCatalog.bundled(name).isPresent()
            ? "model [" + name + "] is not installed on this node (place model.onnx and tokenizer.json in " + roots.get(0).resolve(name) + ")"
            : "unknown model [" + name + "]";
        return new UnknownModelException(known + "; installed models: " + installed());
    }

    @Override
    public void close() {
        loaded.values().forEach(Encoder::close);
        loaded.clear();
        loadedBytes.clear();
        reservedBytes.set(0);
    }
}

package org.embeddings.encoder;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * Resolves a model name to a loaded {@link Encoder}, once per node.
 *
 * <p>Each model has at most one {@link ModelState}. The first caller for a name installs a {@code Loading} state and
 * loads the model on its own thread, outside any lock, while later callers for that name wait on its future; callers
 * for other names are never held up by it. A load ends {@code Loaded}, or {@code Failed} with its reason and the
 * folder's fingerprint: a broken model answers its error at once until its folder changes, and is then loaded again.
 * Names that are not installed and loads refused by the memory limit leave no state, so that installing the model or
 * raising the limit takes effect on the next call.
 *
 * <p>{@code <name>-int8} with no folder of its own names the int8 form of the installed model {@code <name>}
 * ({@link Int8Name}): the same card under its own name, run from the int8 file that {@link Int8ModelFiles} builds
 * from {@code <name>/model.onnx} when it is first loaded (on the loading caller's thread, which is never a search or
 * transport thread), or finds already built for that file's checksum.
 *
 * <p>Loads reserve their ONNX file's bytes against {@code maxLoadedBytes} before they start, so concurrent
 * loads cannot overshoot the limit together. {@link #close()} closes every loaded model once, and a load still in
 * flight closes what it built as soon as it finishes; errors from closing are collected, not lost.
 */
public final class ModelRegistry implements Closeable {
    private final ModelFolders folders;
    private final CardResolver cards;
    private final EncoderSettings settings;
    private final long maxLoadedBytes;
    private final Int8ModelFiles int8Files;
    private final ConcurrentHashMap<String, ModelState> states = new ConcurrentHashMap<>();
    /** The files each loaded encoder came from, for its {@link RecipeFingerprint}. */
    private final ConcurrentHashMap<String, LoadedRecipe> recipes = new ConcurrentHashMap<>();
    /** Guards state transitions that must not race with {@link #close()}, and the reserved bytes. */
    private final Object lock = new Object();

    private long reservedBytes;
    private boolean closed;

    public ModelRegistry(List<Path> roots, EncoderSettings settings) {
        this(roots, settings, Long.MAX_VALUE);
    }

    public ModelRegistry(List<Path> roots, EncoderSettings settings, long maxLoadedBytes) {
        this(roots, settings, maxLoadedBytes, Path.of(System.getProperty("java.io.tmpdir"), "embeddings-int8"));
    }

    /**
     * @param maxLoadedBytes the most bytes of model files (the ONNX file, whose weights ONNX Runtime holds in native
     *                       memory) this node may have loaded at once; a load past it is refused
     * @param int8Dir        where the int8 files of derived {@code <name>-int8} models are built and kept
     */
    public ModelRegistry(List<Path> roots, EncoderSettings settings, long maxLoadedBytes, Path int8Dir) {
        this.folders = new ModelFolders(roots);
        this.cards = new CardResolver(folders);
        this.settings = settings;
        this.maxLoadedBytes = maxLoadedBytes;
        this.int8Files = new Int8ModelFiles(int8Dir);
    }

    /** This machine's integer kernels, probed at the first int8 load ({@link IntegerKernels}). */
    private volatile IntegerKernels kernels;

    private IntegerKernels kernels() {
        IntegerKernels k = kernels;
        if (k == null) {
            k = IntegerKernels.probe(settings.session());
            kernels = k;
        }
        return k;
    }

    /** The base model when {@code name} names a derived int8 form: it has the suffix and no folder of its own. */
    private Optional<String> int8Base(String name) {
        return Int8Name.base(name).filter(b -> folders.folder(name).isEmpty());
    }

    /** The folder a model's files come from: its own, or its base model's for a derived int8 form. */
    private Optional<Path> sourceFolder(String name) {
        Optional<Path> own = folders.folder(name);
        return own.isPresent() ? own : int8Base(name).flatMap(folders::folder);
    }

    /** The loaded encoder for a model name typed by a user, loading it on first use. */
    public Encoder encoder(String name) {
        String n = ModelName.normalize(name);
        while (true) {
            ModelState state = states.get(n);
            if (state instanceof ModelState.Loaded loaded) {
                return loaded.encoder();
            }
            if (state instanceof ModelState.Loading loading) {
                return await(n, loading.done());
            }
            if (state instanceof ModelState.Failed failed) {
                Optional<Path> folder = sourceFolder(n);
                if (folder.isPresent() && failed.folder().equals(FolderFingerprint.of(folder.get()))) {
                    throw failed.reason();
                }
                states.remove(n, failed);
                continue;
            }
            ModelState.Loading loading = new ModelState.Loading(new CompletableFuture<>());
            synchronized (lock) {
                if (closed) {
                    throw new IllegalStateException("the model registry is closed");
                }
                if (states.putIfAbsent(n, loading) != null) {
                    continue;
                }
            }
            return load(n, loading);
        }
    }

    private Encoder load(String name, ModelState.Loading loading) {
        long start = System.nanoTime();
        long bytes = 0; // reserved so far
        Path folder = null;
        try {
            Optional<String> base = int8Base(name).filter(b -> folders.folder(b).isPresent());
            folder = folders.folder(base.orElse(name)).orElseThrow(() -> unknown(name));
            ModelCard card = base.isPresent()
                    ? cards.installed(base.get(), folder).withName(name)
                    : cards.installed(name, folder);
            Path onnx = base.isPresent()
                    ? int8Files
                            .file(
                                    name,
                                    folder.resolve(ModelFolders.ONNX_FILE),
                                    Int8Quantizer.forCard(card, kernels()),
                                    Int8ModelFiles.calibrated(card, tokenizerFile(name, folder), settings.session()))
                            .file()
                    : folder.resolve(ModelFolders.ONNX_FILE);
            long size = fileSize(onnx);
            reserve(name, size);
            bytes = size;
            Encoder encoder = open(name, folder, onnx, card);
            recipes.put(
                    name,
                    new LoadedRecipe(
                            encoder,
                            new RecipeFingerprint.Source(
                                    card,
                                    onnx,
                                    tokenizerFile(name, folder),
                                    settings.session().cuda())));
            ModelState.Loaded loaded = new ModelState.Loaded(encoder, size, System.nanoTime() - start);
            synchronized (lock) {
                if (closed == false && states.replace(name, loading, loaded)) {
                    loading.done().complete(encoder);
                    return encoder;
                }
            }
            // closed while this load ran: what it built is nobody's, so it is closed here, exactly once
            encoder.close();
            throw new IllegalStateException("the model registry was closed while model [" + name + "] was loading");
        } catch (RuntimeException | Error e) {
            synchronized (lock) {
                if (closed == false) {
                    reservedBytes -= bytes;
                }
                boolean remember = folder != null
                        && e instanceof RuntimeException
                        && (e instanceof ModelMemoryLimitException) == false;
                if (remember && closed == false) {
                    states.replace(
                            name, loading, new ModelState.Failed((RuntimeException) e, FolderFingerprint.of(folder)));
                } else {
                    states.remove(name, loading);
                }
            }
            loading.done().completeExceptionally(e);
            throw e;
        }
    }

    private void reserve(String name, long bytes) {
        synchronized (lock) {
            if (reservedBytes + bytes > maxLoadedBytes) {
                throw new ModelMemoryLimitException(
                        "loading model [" + name + "] (" + bytes + " bytes) would take this node's loaded models to "
                                + (reservedBytes + bytes) + " bytes, past embeddings.models.max_loaded_bytes ["
                                + maxLoadedBytes + "]; loaded: " + loadedNames());
            }
            reservedBytes += bytes;
        }
    }

    private static Path tokenizerFile(String name, Path folder) {
        Path tokenizerFile = folder.resolve(ModelFolders.TOKENIZER_FILE);
        if (Files.isRegularFile(tokenizerFile) == false) {
            throw new ModelLoadException(
                    "model [" + name + "] folder [" + folder + "] has no " + ModelFolders.TOKENIZER_FILE);
        }
        return tokenizerFile;
    }

    private Encoder open(String name, Path folder, Path onnx, ModelCard card) {
        Path tokenizerFile = tokenizerFile(name, folder);
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

    private static Encoder await(String name, CompletableFuture<Encoder> done) {
        try {
            return done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for model [" + name + "] to load", e);
        } catch (CancellationException e) {
            throw new IllegalStateException("the load of model [" + name + "] was cancelled", e);
        } catch (ExecutionException e) {
            // the loading caller's own exception: same type and message for every caller that waited on it
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The card a model name resolves to, without loading the model: the installed folder's card when the model is
     * installed, else the bundled card (so a mapping can take dims from a model this node does not hold); fails for
     * a name that is neither.
     */
    public ModelCard card(String name) {
        String n = ModelName.normalize(name);
        if (states.get(n) instanceof ModelState.Loaded loaded) {
            return loaded.encoder().card();
        }
        Optional<String> base = int8Base(n)
                .filter(b ->
                        folders.folder(b).isPresent() || CardCatalog.bundled(b).isPresent());
        if (base.isPresent()) {
            return card(base.get()).withName(n);
        }
        return cards.card(n);
    }

    /**
     * The card of a model this node can run; fails with a 4xx-mapped error naming the installed models when
     * {@code name} is unknown or known but not installed here, and with the file and problem when its card is
     * malformed.
     */
    public ModelCard installedCard(String name) {
        String n = ModelName.normalize(name);
        if (states.get(n) instanceof ModelState.Loaded loaded) {
            return loaded.encoder().card();
        }
        Optional<String> base = int8Base(n).filter(b -> folders.folder(b).isPresent());
        if (base.isPresent()) {
            return installedCard(base.get()).withName(n);
        }
        Path folder = folders.folder(n).orElseThrow(() -> unknown(n));
        return cards.installed(n, folder);
    }

    /** Installed models, and the derived int8 form of each that is not itself int8, sorted. */
    public List<String> installed() {
        List<String> names = new ArrayList<>(folders.installed());
        for (String name : List.copyOf(names)) {
            if (Int8Name.base(name).isEmpty() && names.contains(Int8Name.of(name)) == false) {
                names.add(Int8Name.of(name));
            }
        }
        names.sort(null);
        return names;
    }

    private UnknownModelException unknown(String name) {
        Optional<String> base =
                Int8Name.base(name).filter(b -> CardCatalog.bundled(b).isPresent());
        if (base.isPresent()) {
            return new UnknownModelException("model [" + name + "] is the int8 form of [" + base.get()
                    + "], which is not installed on this node (place model.onnx and " + "tokenizer.json in "
                    + folders.installRoot().resolve(base.get()) + "); installed models: " + installed());
        }
        return folders.unknown(name);
    }

    /** Every model with a state on this node (loading, loaded or failed), by name. */
    public Map<String, ModelState> states() {
        return new TreeMap<>(states);
    }

    /** Names of the models loaded on this node, sorted. */
    public List<String> loadedNames() {
        List<String> names = new ArrayList<>();
        states.forEach((name, state) -> {
            if (state instanceof ModelState.Loaded) {
                names.add(name);
            }
        });
        names.sort(null);
        return names;
    }

    /** A loaded encoder and the files it runs, to fingerprint its recipe. */
    private record LoadedRecipe(Encoder encoder, RecipeFingerprint.Source source) {}

    /**
     * The recipe of a loaded model, whose {@link RecipeFingerprint.Source#get()} hashes its files on first use; empty
     * when the model is not loaded (a model loaded again gets the files of its new load).
     */
    public Optional<RecipeFingerprint.Source> recipe(String name) {
        String n = ModelName.normalize(name);
        LoadedRecipe recipe = recipes.get(n);
        return loadedEncoder(n)
                .filter(encoder -> recipe != null && recipe.encoder() == encoder)
                .map(encoder -> recipe.source());
    }

    public Optional<Encoder> loadedEncoder(String name) {
        return states.get(ModelName.normalize(name)) instanceof ModelState.Loaded loaded
                ? Optional.of(loaded.encoder())
                : Optional.empty();
    }

    /** Bytes of model files loaded or being loaded on this node (the sum that {@code maxLoadedBytes} bounds). */
    public long loadedBytes() {
        synchronized (lock) {
            return reservedBytes;
        }
    }

    /** Bytes of the model file of a loaded model, or 0. */
    public long loadedBytes(String name) {
        return states.get(ModelName.normalize(name)) instanceof ModelState.Loaded loaded ? loaded.bytes() : 0L;
    }

    public long maxLoadedBytes() {
        return maxLoadedBytes;
    }

    /**
     * Closes every loaded model, once. Loads still in flight close their model themselves when they finish, and
     * their callers get an error. Later calls to {@link #encoder} fail.
     */
    @Override
    public void close() {
        List<Encoder> toClose = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            states.forEach((name, state) -> {
                if (state instanceof ModelState.Loaded loaded) {
                    toClose.add(loaded.encoder());
                }
            });
            states.clear();
            recipes.clear();
            reservedBytes = 0;
        }
        RuntimeException failure = null;
        for (Encoder encoder : toClose) {
            try {
                encoder.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = new IllegalStateException("closing the loaded models failed");
                }
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}

package org.embeddings.encoder.models;

import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.LoadFailures;
import org.embeddings.encoder.LoneQuerySession;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.PathRedaction;
import org.embeddings.encoder.RunMemory;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.int8.Calibration;
import org.embeddings.encoder.int8.Int8Check;
import org.embeddings.encoder.int8.Int8ModelFiles;
import org.embeddings.encoder.int8.Int8Name;
import org.embeddings.encoder.int8.Int8Quantizer;
import org.embeddings.encoder.int8.IntegerKernels;

/**
 * Resolves a model name to a loaded {@link Encoder}, once per node, and runs every load on its own executor.
 *
 * <p>Each model has at most one {@link ModelState}. The first caller for a name installs a {@code Loading} state and
 * hands the load to the {@code loader} executor; it and every later caller for that name get the same future, and
 * no caller's thread does any loading work (a node passes a dedicated pool, so neither a query nor a document thread
 * ever builds a model; encoder-only tools pass a direct executor and block in {@link #encoder}). A load ends
 * {@code Loaded}; {@code Broken} with its reason and the folder's fingerprint when the files are at fault (the error
 * is answered at once until the folder changes, then the model loads again); or {@code Backoff} when the node is at
 * fault ({@link LoadFailures}: out of memory, I/O), after which the first request past the backoff (1 s, doubling
 * per failed attempt up to 5 minutes) loads again, and an explicit {@link #load} retries at once. Names that are not
 * installed and loads refused by the memory limit leave no state, so that installing the model or raising the limit
 * takes effect on the next call.
 *
 * <p>{@code <name>-int8} with no folder of its own names the int8 form of the installed model {@code <name>}
 * ({@link Int8Name}): the same card under its own name, run from the int8 file that {@link Int8ModelFiles} builds
 * from {@code <name>/model.onnx} when it is first loaded, or finds already built for that file's checksum.
 *
 * <p>Memory: a load reserves the bytes its model maps ({@link ModelFiles}: the ONNX file and its external data
 * files) against {@code maxLoadedBytes} before any native work, so that concurrent loads cannot overshoot the limit
 * together. An int8 build is checked before it starts, with the fp32 source's mapped bytes as its estimate: the
 * rewrite only shrinks weights (int8 matmul weights are a quarter of their fp32 bytes; embeddings, norms and any
 * matmul the card keeps fp32 stay as they are, and per-channel scales are a few kilobytes), so the int8 file is at
 * most that, and the build itself holds a calibration session of the fp32 graph. Once built (or found in the cache,
 * where no estimate is needed), the reservation becomes the int8 file's real size.
 *
 * <p>{@link #unload} takes a loaded model out of service: new requests no longer get it, work in flight finishes on
 * it, and it is closed (its bytes freed) when the last of that work ends ({@link Encoder#retire}). {@link #close()}
 * closes every loaded model once, and a load still in flight closes what it built as soon as it finishes; errors
 * from closing are collected, not lost.
 */
public final class ModelRegistry implements Closeable {
    static final long FIRST_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final long MAX_BACKOFF_NANOS = TimeUnit.MINUTES.toNanos(5);

    /** What {@link #unload} did. */
    public enum Unload {
        /** The model was loaded; it is out of service now and closes when its work in flight ends. */
        UNLOADED,
        /** The model was loading; the load closes what it built instead of installing it. */
        LOAD_CANCELLED,
        /** The model was not loaded (a remembered failure, if any, is forgotten). */
        NOT_LOADED
    }

    private final ModelFolders folders;
    private final CardResolver cards;
    private final EncoderSettings settings;
    private final long maxLoadedBytes;
    private final Int8ModelFiles int8Files;
    private final Executor loader;
    private final ModelEvents events;
    private final LongSupplier nanoClock;
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

    /** Loads on the calling thread ({@link #encoder} blocks while it loads): for tools that use the encoder alone. */
    public ModelRegistry(List<Path> roots, EncoderSettings settings, long maxLoadedBytes, Path int8Dir) {
        this(roots, settings, maxLoadedBytes, int8Dir, Runnable::run, ModelEvents.NONE, System::nanoTime);
    }

    /**
     * @param maxLoadedBytes the most bytes of model files (each model's ONNX file and external data files, whose
     *                       weights ONNX Runtime holds in native memory) this node may have loaded at once; a load
     *                       past it is refused
     * @param int8Dir        where the int8 files of derived {@code <name>-int8} models are built and kept
     * @param loader         where loads and int8 builds run: a node's dedicated pool, never a request's thread
     * @param events         told of loads, failures (with their detail, for the log) and unloads
     * @param nanoClock      the clock backoffs are measured on
     */
    public ModelRegistry(
            List<Path> roots,
            EncoderSettings settings,
            long maxLoadedBytes,
            Path int8Dir,
            Executor loader,
            ModelEvents events,
            LongSupplier nanoClock) {
        this.folders = new ModelFolders(roots);
        this.cards = new CardResolver(folders);
        this.settings = settings;
        this.maxLoadedBytes = maxLoadedBytes;
        this.int8Files = new Int8ModelFiles(int8Dir);
        this.loader = loader;
        this.events = events;
        this.nanoClock = nanoClock;
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

    /** The loaded encoder for a model name typed by a user, loading it first if need be (blocking until it is). */
    public Encoder encoder(String name) {
        return await(ModelName.normalize(name), encoderAsync(name));
    }

    /**
     * The encoder of a model name typed by a user: completed when the model is loaded; the load's future when it is
     * loading, or else a load started now on the loader; failed at once, without loading, for a broken model whose
     * folder is unchanged and for a transient failure whose backoff has not ended. The caller's thread does no
     * loading work (unless this registry's loader is a direct executor).
     */
    public CompletableFuture<Encoder> encoderAsync(String name) {
        return acquire(ModelName.normalize(name), false);
    }

    /**
     * An operator's load: as {@link #encoderAsync}, except that a model waiting out the backoff of a transient
     * failure is loaded again at once.
     */
    public CompletableFuture<Encoder> load(String name) {
        return acquire(ModelName.normalize(name), true);
    }

    /** Whether the model is loaded or loading: using it starts no load. */
    public boolean isLoadedOrLoading(String name) {
        ModelState state = states.get(ModelName.normalize(name));
        return state instanceof ModelState.Loaded || state instanceof ModelState.Loading;
    }

    private CompletableFuture<Encoder> acquire(String n, boolean retryNow) {
        while (true) {
            ModelState state = states.get(n);
            if (state instanceof ModelState.Loaded loaded) {
                return CompletableFuture.completedFuture(loaded.encoder());
            }
            if (state instanceof ModelState.Loading loading) {
                return loading.done();
            }
            int attempts = 0;
            if (state instanceof ModelState.Broken broken) {
                Optional<Path> folder = sourceFolder(n);
                if (folder.isPresent() && broken.folder().equals(FolderFingerprint.of(folder.get()))) {
                    return CompletableFuture.failedFuture(broken.reason());
                }
                states.remove(n, broken);
                continue;
            }
            if (state instanceof ModelState.Backoff backoff) {
                if (retryNow == false && nanoClock.getAsLong() - backoff.retryAtNanos() < 0) {
                    return CompletableFuture.failedFuture(backoff.reason());
                }
                attempts = backoff.attempts();
            }
            ModelState.Loading loading = new ModelState.Loading(
                    new CompletableFuture<>(), nanoClock.getAsLong(), attempts, new AtomicBoolean());
            synchronized (lock) {
                if (closed) {
                    return CompletableFuture.failedFuture(
                            new ModelUnavailableException("the model registry is closed"));
                }
                boolean installed =
                        state == null ? states.putIfAbsent(n, loading) == null : states.replace(n, state, loading);
                if (installed == false) {
                    continue;
                }
            }
            try {
                loader.execute(() -> load(n, loading));
            } catch (RejectedExecutionException e) {
                synchronized (lock) {
                    states.remove(n, loading);
                }
                loading.done()
                        .completeExceptionally(new ModelUnavailableException(
                                "cannot start loading model [" + n + "]: the node's model loader is busy", e));
            }
            return loading.done();
        }
    }

    /** Runs on the loader: the whole load of one model, ending in one of the states the class notes describe. */
    private void load(String name, ModelState.Loading loading) {
        Reservation reservation = new Reservation(name);
        Path folder = null;
        try {
            Optional<String> base = int8Base(name).filter(b -> folders.folder(b).isPresent());
            folder = folders.folder(base.orElse(name)).orElseThrow(() -> unknown(name));
            ModelCard card = base.isPresent()
                    ? cards.installed(base.get(), folder).withName(name)
                    : cards.installed(name, folder);
            Path onnx = base.isPresent()
                    ? int8File(name, folder, card, reservation)
                    : folder.resolve(ModelFolders.ONNX_FILE);
            // an int8 form may get a lone-query session: a second copy of its weights, reserved until the check
            // that keeps it has run
            Optional<SessionSettings> lone = base.isPresent() ? settings.loneQuerySession() : Optional.empty();
            long sessionBytes = ModelFiles.bytes(onnx);
            reservation.resize(lone.isPresent() ? 2 * sessionBytes : sessionBytes);
            if (loading.cancelled().get()) {
                throw cancelled(name);
            }
            Path tokenizer = tokenizerFile(name, folder);
            Encoder encoder = open(name, tokenizer, onnx, card, lone);
            if (encoder.hasLoneSession() == false) {
                reservation.resize(sessionBytes);
            }
            recipes.put(
                    name,
                    new LoadedRecipe(
                            encoder,
                            new RecipeFingerprint.Source(
                                    card, onnx, tokenizer, settings.session().cuda())));
            long nanos = nanoClock.getAsLong() - loading.startNanos();
            ModelState.Loaded loaded = new ModelState.Loaded(encoder, reservation.bytes, nanos);
            synchronized (lock) {
                if (closed == false && loading.cancelled().get() == false && states.replace(name, loading, loaded)) {
                    reservation.keep();
                }
            }
            if (reservation.kept == false) {
                // closed or unloaded while this load ran: what it built is nobody's, so it is closed here, exactly once
                encoder.close();
                throw loading.cancelled().get()
                        ? cancelled(name)
                        : new ModelUnavailableException(
                                "the model registry was closed while model [" + name + "] was loading");
            }
            events.loaded(name, loaded.bytes(), nanos);
            loading.done().complete(encoder);
        } catch (Throwable t) {
            RuntimeException failure = fail(name, loading, reservation, LoadFailures.classify(name, t), folder);
            long retryIn = failure instanceof ModelUnavailableException
                            && states.get(name) instanceof ModelState.Backoff backoff
                            && backoff.reason() == failure
                    ? backoffNanos(backoff.attempts())
                    : -1;
            events.failed(name, failure, t, retryIn);
            loading.done().completeExceptionally(failure);
            if (t instanceof Error && (t instanceof OutOfMemoryError) == false) {
                throw (Error) t;
            }
        }
    }

    /**
     * Records a failed load's state and frees its bytes; returns the failure every caller gets (a transient one says
     * when it is retried).
     */
    private RuntimeException fail(
            String name, ModelState.Loading loading, Reservation reservation, RuntimeException failure, Path folder) {
        synchronized (lock) {
            reservation.release();
            if (closed || loading.cancelled().get()) {
                states.remove(name, loading);
                return failure;
            }
            if (failure instanceof ModelUnavailableException transientFailure) {
                int attempts = loading.attempts() + 1;
                long backoff = backoffNanos(attempts);
                ModelUnavailableException reason = new ModelUnavailableException(
                        transientFailure.getMessage() + "; retried after a backoff of "
                                + TimeUnit.NANOSECONDS.toMillis(backoff) + " ms (failed attempts: " + attempts + ")",
                        transientFailure.detail());
                states.replace(
                        name, loading, new ModelState.Backoff(reason, attempts, nanoClock.getAsLong() + backoff));
                return reason;
            }
            boolean remember = folder != null
                    && (failure instanceof ModelMemoryLimitException) == false
                    && (failure instanceof UnknownModelException) == false;
            if (remember) {
                states.replace(name, loading, new ModelState.Broken(failure, FolderFingerprint.of(folder)));
            } else {
                states.remove(name, loading);
            }
            return failure;
        }
    }

    /** The backoff after {@code attempts} transient failures in a row: 1 s, doubling, at most 5 minutes. */
    static long backoffNanos(int attempts) {
        long backoff = FIRST_BACKOFF_NANOS << Math.min(attempts - 1, 20);
        return Math.min(backoff, MAX_BACKOFF_NANOS);
    }

    private static ModelUnavailableException cancelled(String name) {
        return new ModelUnavailableException("model [" + name + "] was unloaded while it was loading");
    }

    /**
     * The int8 file of {@code name}, from the cache or built now. On a cache miss {@link Int8ModelFiles} calls the
     * calibration before it builds anything, and that is where the fp32 estimate is reserved: a build past the limit
     * is refused before it starts.
     */
    private Path int8File(String name, Path folder, ModelCard card, Reservation reservation) {
        Path source = folder.resolve(ModelFolders.ONNX_FILE);
        long estimate = ModelFiles.bytes(source);
        Int8ModelFiles.Build calibrated =
                Int8ModelFiles.calibrated(card, tokenizerFile(name, folder), settings.session());
        try {
            return int8Files
                    .file(name, source, Int8Quantizer.forCard(card, kernels()), new Int8ModelFiles.Build() {
                        @Override
                        public Calibration calibrate(byte[] fp32) {
                            reservation.resize(
                                    estimate, "building it: the bytes of its fp32 source, at most the int8 file's");
                            return calibrated.calibrate(fp32);
                        }

                        @Override
                        public Int8Check.Result check(Path candidate, Calibration calibration) {
                            return calibrated.check(candidate, calibration);
                        }
                    })
                    .file();
        } catch (RuntimeException | Error e) {
            PathRedaction redaction = new PathRedaction()
                    .with(int8Files.dir(), "the node's int8 directory")
                    .with(folder, "the model's folder")
                    .with(Path.of(System.getProperty("java.io.tmpdir")), "the node's temporary directory");
            throw LoadFailures.int8Build(name, e, redaction);
        }
    }

    /** The bytes one load holds against the limit; changes under the registry's lock. */
    private final class Reservation {
        private final String name;
        private long bytes;
        private boolean kept;

        Reservation(String name) {
            this.name = name;
        }

        /** Reserves {@code total} bytes for this load in all, refusing it if that would pass the limit. */
        void resize(long total) {
            resize(total, null);
        }

        /** As {@link #resize(long)}; {@code estimate} says what the bytes are when they are an estimate. */
        void resize(long total, String estimate) {
            synchronized (lock) {
                long after = reservedBytes - bytes + total;
                if (total > bytes && after > maxLoadedBytes) {
                    throw new ModelMemoryLimitException("loading model [" + name + "] (" + total + " bytes"
                            + (estimate == null ? "" : " estimated before " + estimate)
                            + ") would take this node's loaded models to " + after
                            + " bytes, past embeddings.models.max_loaded_bytes [" + maxLoadedBytes + "]; loaded: "
                            + loadedNames());
                }
                if (closed == false) {
                    reservedBytes = after;
                }
                bytes = total;
            }
        }

        /** The load succeeded: its bytes stay reserved until the model is unloaded. Called under the lock. */
        void keep() {
            kept = true;
        }

        /** Called under the lock. */
        void release() {
            if (kept == false && closed == false) {
                reservedBytes -= bytes;
            }
            bytes = 0;
        }
    }

    private static Path tokenizerFile(String name, Path folder) {
        Path tokenizerFile = folder.resolve(ModelFolders.TOKENIZER_FILE);
        if (Files.isRegularFile(tokenizerFile) == false) {
            throw new ModelLoadException(
                    "model [" + name + "] has no " + ModelFolders.TOKENIZER_FILE + " in its folder");
        }
        return tokenizerFile;
    }

    /**
     * Opens the model's sessions and tokenizer on a native thread of its own; with {@code lone}, the settings of a
     * {@link LoneQuerySession} to try beside the batch session.
     */
    private Encoder open(String name, Path tokenizerFile, Path onnx, ModelCard card, Optional<SessionSettings> lone) {
        NativeThread thread = new NativeThread(name, settings.queryBurst(), settings.workers());
        try {
            return thread.call(() -> {
                ModelTokenizer tokenizer = new ModelTokenizer(tokenizerFile, card.maxTokens());
                try {
                    OnnxModel model = new OnnxModel(onnx, card, settings.session());
                    try {
                        OnnxModel alone = lone.isEmpty()
                                ? model
                                : LoneQuerySession.open(onnx, card, tokenizer, model, lone.get())
                                        .orElse(model);
                        return new Encoder(
                                card, tokenizer, model, alone, settings.batcher(), settings.runMemory(card), thread);
                    } catch (RuntimeException e) {
                        model.close();
                        throw e;
                    }
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

    /**
     * Takes model {@code name} out of service on this node: see {@link Unload}. A model that is still used by work
     * in flight closes when that work ends, so unloading never closes a session under a running inference.
     */
    public Unload unload(String name) {
        String n = ModelName.normalize(name);
        ModelState.Loaded retired;
        synchronized (lock) {
            ModelState state = states.get(n);
            if (state instanceof ModelState.Loading loading) {
                loading.cancelled().set(true);
                states.remove(n, loading);
                loading.done().completeExceptionally(cancelled(n));
                return Unload.LOAD_CANCELLED;
            }
            if (state instanceof ModelState.Loaded loaded) {
                states.remove(n, loaded);
                recipes.computeIfPresent(n, (k, r) -> r.encoder() == loaded.encoder() ? null : r);
                retired = loaded;
            } else {
                if (state != null) {
                    states.remove(n, state);
                }
                return Unload.NOT_LOADED;
            }
        }
        retired.encoder().retire(() -> {
            synchronized (lock) {
                if (closed == false) {
                    reservedBytes -= retired.bytes();
                }
            }
            events.unloaded(n, retired.bytes());
        });
        return Unload.UNLOADED;
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
            throw unwrap(e);
        }
    }

    /** The load's own exception from a future's wrapper: same type and message for every caller that waited on it. */
    public static RuntimeException unwrap(Throwable t) {
        Throwable cause = (t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null
                ? t.getCause()
                : t;
        if (cause instanceof RuntimeException r) {
            return r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(cause);
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

    /** The bound this node puts on one run of {@code card}'s model ({@code embeddings.onnx.max_run_memory}). */
    public RunMemory runMemory(ModelCard card) {
        return settings.runMemory(card);
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
                    + "], which is not installed on this node (" + ModelFolders.howToInstall(base.get())
                    + "); installed models: " + installed());
        }
        return folders.unknown(name);
    }

    /** Every model with a state on this node (loading, loaded, broken or in backoff), by name. */
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

    /**
     * Bytes of model files loaded or being loaded on this node (the sum that {@code maxLoadedBytes} bounds),
     * including unloaded models whose work in flight has not ended yet.
     */
    public long loadedBytes() {
        synchronized (lock) {
            return reservedBytes;
        }
    }

    /** Bytes the files of a loaded model map, or 0. */
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

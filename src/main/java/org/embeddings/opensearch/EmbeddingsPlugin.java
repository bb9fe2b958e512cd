package org.embeddings.opensearch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.lucene.util.SetOnce;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.NativeLibraries;
import org.embeddings.encoder.NativeThread;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.models.ModelEvents;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.opensearch.action.EmbedAction;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.embeddings.opensearch.action.LoadModelAction;
import org.embeddings.opensearch.action.ModelsAction;
import org.embeddings.opensearch.action.TransportEmbedAction;
import org.embeddings.opensearch.action.TransportEmbeddingsStatsAction;
import org.embeddings.opensearch.action.TransportLoadModelAction;
import org.embeddings.opensearch.action.TransportModelsAction;
import org.embeddings.opensearch.action.TransportUnloadModelAction;
import org.embeddings.opensearch.action.TransportVectorsStatsAction;
import org.embeddings.opensearch.action.UnloadModelAction;
import org.embeddings.opensearch.action.VectorsStatsAction;
import org.embeddings.opensearch.codec.VectorCodecService;
import org.embeddings.opensearch.highlight.EmbeddingHighlighter;
import org.embeddings.opensearch.highlight.FetchDeadline;
import org.embeddings.opensearch.inference.BulkDeadlineFilter;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.inference.QueryVectorCache;
import org.embeddings.opensearch.ingest.BulkCharge;
import org.embeddings.opensearch.ingest.BulkChargeFilter;
import org.embeddings.opensearch.ingest.EmbedProcessor;
import org.embeddings.opensearch.ingest.EmbedProcessorFactory;
import org.embeddings.opensearch.ingest.ReuseStats;
import org.embeddings.opensearch.mapper.DigestsFieldMapper;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper;
import org.embeddings.opensearch.query.EmbedKnnQueryBuilder;
import org.embeddings.opensearch.query.EmbedKnnQueryParser;
import org.embeddings.opensearch.query.FusedIdsQueryBuilder;
import org.embeddings.opensearch.query.FusionQueryBuilder;
import org.embeddings.opensearch.query.FusionQueryParser;
import org.embeddings.opensearch.query.SearchTaskFilter;
import org.embeddings.opensearch.rest.RestEmbedAction;
import org.embeddings.opensearch.rest.RestModelLifecycleAction;
import org.embeddings.opensearch.rest.RestModelsAction;
import org.embeddings.opensearch.rest.RestStatsAction;
import org.embeddings.opensearch.rest.RestVectorsStatsAction;
import org.embeddings.opensearch.source.MaskSourceVectors;
import org.embeddings.opensearch.source.RestoringIndices;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.IndexScopedSettings;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.settings.SettingsFilter;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.util.concurrent.OpenSearchExecutors;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.common.unit.ByteSizeUnit;
import org.opensearch.core.common.unit.ByteSizeValue;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.index.IndexModule;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.codec.CodecServiceFactory;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.index.mapper.MetadataFieldMapper;
import org.opensearch.index.shard.IndexEventListener;
import org.opensearch.indices.breaker.BreakerSettings;
import org.opensearch.indices.cluster.IndicesClusterStateService;
import org.opensearch.ingest.Processor;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.CircuitBreakerPlugin;
import org.opensearch.plugins.EnginePlugin;
import org.opensearch.plugins.IngestPlugin;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.rest.RestController;
import org.opensearch.rest.RestHandler;
import org.opensearch.script.ScriptService;
import org.opensearch.search.fetch.subphase.highlight.Highlighter;
import org.opensearch.threadpool.ExecutorBuilder;
import org.opensearch.threadpool.FixedExecutorBuilder;
import org.opensearch.threadpool.ScalingExecutorBuilder;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

/**
 * Wiring only: registers the {@code embedding} field, the {@code embed} processor, the {@code embed_knn} query, the
 * {@code embedding} highlighter, the {@code embeddings} thread pool and circuit breaker, and builds the one
 * {@link ModelRegistry} of the node. Extension points that OpenSearch asks for before components exist receive
 * suppliers, filled in {@link #createComponents}.
 */
public final class EmbeddingsPlugin extends Plugin
        implements MapperPlugin, IngestPlugin, SearchPlugin, ActionPlugin, EnginePlugin, CircuitBreakerPlugin {
    /** Directory under the node's config directory where users install models. */
    public static final String MODELS_DIR = "embeddings/models";
    /** Directory under the node's data path where the int8 files of derived {@code <name>-int8} models are kept. */
    public static final String INT8_DIR = "embeddings/int8";

    /** The pool where HNSW merge workers beyond the merging thread run ({@link VectorCodecService#MERGE_WORKERS}). */
    public static final String MERGE_POOL = "embeddings_merge";

    /**
     * ONNX Runtime intra-op threads per inference; 0 means the node's allocated processors shared out among the
     * {@link #WORKERS}, at least one each.
     */
    public static final Setting<Integer> INTRA_OP_THREADS =
            Setting.intSetting("embeddings.onnx.intra_op_threads", 0, 0, Setting.Property.NodeScope);

    /**
     * Session runs a model does at once (the threads of its native worker pool). 0 means: the allocated processors
     * divided by {@link #INTRA_OP_THREADS} where that is set, else the allocated processors up to
     * {@value #AUTO_WORKERS_CAP}; 1 on CUDA. In process on 2 cores, two runs of one thread each encoded 1.4x the int8
     * documents and 1.5x to 2.5x the queries of one run of two threads, with the same vectors (docs/performance.md).
     */
    public static final Setting<Integer> WORKERS =
            Setting.intSetting("embeddings.onnx.workers", 0, 0, Setting.Property.NodeScope);

    static final int AUTO_WORKERS_CAP = 4;

    /**
     * Intra-op threads of an int8 model's second session, which runs a query that comes alone (0: no second session).
     * It is built only with fewer threads than {@link #INTRA_OP_THREADS} and kept only when it gives the same vectors
     * bit for bit; it costs the int8 file's bytes once more (docs/performance.md: a lone int8 query in about 0.7x the
     * time on one thread).
     */
    public static final Setting<Integer> LONE_QUERY_THREADS =
            Setting.intSetting("embeddings.onnx.lone_query_threads", 1, 0, Setting.Property.NodeScope);

    public static final Setting<Integer> TOKEN_BUDGET =
            Setting.intSetting("embeddings.batch.token_budget", 512, 16, Setting.Property.NodeScope);
    /**
     * While queries arrive (one came in the last second), document sub-batches run in slices of at most this many
     * padded tokens, so that a query waits for one small slice: measured (docs/performance.md), 128 keeps the query
     * p50 under ingest within 2x of idle, where the full budget gave 4.9x; ingest without queries keeps the full
     * budget. At or above {@link #TOKEN_BUDGET}, slices are whole sub-batches.
     */
    public static final Setting<Integer> QUERY_TOKEN_BUDGET = Setting.intSetting(
            "embeddings.batch.query_token_budget",
            EncoderSettings.DEFAULT_QUERY_TOKEN_BUDGET,
            16,
            Setting.Property.NodeScope);
    /**
     * Whether ONNX Runtime's idle intra-op threads spin-wait (ORT's own default) or sleep. Off by default: a node's
     * cores also serve search, indexing and HTTP, which spinning threads take cycles from; measured on 2 cores, with
     * spinning off int8 queries answered in 17.3 instead of 19.2 ms at p50 and 108 instead of 88 queries/s at 16
     * clients (docs/performance.md).
     */
    public static final Setting<Boolean> ALLOW_SPINNING =
            Setting.boolSetting("embeddings.onnx.allow_spinning", false, Setting.Property.NodeScope);
    /** ONNX Runtime's CUDA execution provider; needs the onnxruntime_gpu jar in place of onnxruntime. */
    public static final Setting<Boolean> CUDA =
            Setting.boolSetting("embeddings.onnx.cuda", false, Setting.Property.NodeScope);

    /**
     * While document slices wait on a model's native thread, at most this many query tasks run in a row before one
     * document slice does: documents keep making progress under a constant query load (at least one task in five by
     * default), and a query waits for at most one more slice.
     */
    public static final Setting<Integer> QUERY_BURST = Setting.intSetting(
            "embeddings.batch.queries_before_documents", NativeThread.DEFAULT_BURST, 1, Setting.Property.NodeScope);

    public static final Setting<Integer> MAX_BATCH =
            Setting.intSetting("embeddings.batch.max_texts", 64, 1, Setting.Property.NodeScope);
    /**
     * Bytes of query vectors kept per node (each entry weighs its vector plus its digest key, never the query text);
     * 0 turns the cache off. 16 MB holds about 9,000 vectors of 384 dims.
     */
    public static final Setting<ByteSizeValue> QUERY_CACHE_MAX_BYTES = Setting.byteSizeSetting(
            "embeddings.query_cache.max_bytes", new ByteSizeValue(16, ByteSizeUnit.MB), Setting.Property.NodeScope);
    /**
     * Queries that may wait per model for the query lane on a node; one more is answered 429 at once. The lane
     * encodes 30 to 140 short queries a second on 2 cores, so 256 is several seconds of work: past that, waiting on
     * would only meet the query's deadline.
     */
    public static final Setting<Integer> MAX_WAITING_QUERIES =
            Setting.intSetting("embeddings.query.max_waiting", 256, 1, Setting.Property.NodeScope);
    /**
     * The most bytes of model files (each model's ONNX file and its external data files) a node may hold loaded; a
     * load past it answers 429, and an int8 build is checked before it starts (see ModelRegistry).
     */
    public static final Setting<ByteSizeValue> MAX_LOADED_BYTES = Setting.byteSizeSetting(
            "embeddings.models.max_loaded_bytes", new ByteSizeValue(2, ByteSizeUnit.GB), Setting.Property.NodeScope);
    /**
     * The most native working memory one session run may need ({@link org.embeddings.encoder.RunMemory}): a text whose
     * run would need more is refused with a 400 before anything runs, since that memory is outside the heap and its
     * breakers and a long text on a long-context model needs gigabytes. Each of the {@link #WORKERS} may hold this much
     * at once.
     */
    public static final Setting<ByteSizeValue> MAX_RUN_MEMORY = Setting.byteSizeSetting(
            "embeddings.onnx.max_run_memory",
            new ByteSizeValue(EncoderSettings.DEFAULT_MAX_RUN_BYTES, ByteSizeUnit.BYTES),
            new ByteSizeValue(1, ByteSizeUnit.MB),
            new ByteSizeValue(Long.MAX_VALUE, ByteSizeUnit.BYTES),
            Setting.Property.NodeScope);
    /** Models to load when the node starts instead of on first use; searches may load them (SearchLoadPolicy). */
    public static final Setting<List<String>> PRELOAD =
            Setting.listSetting("embeddings.models.preload", List.of(), s -> s, Setting.Property.NodeScope);
    /**
     * Whether a search may make its node load any installed model. Off by default: a search loads only a model a
     * mapping binds, a pipeline names or {@link #PRELOAD} lists, and any other gets a 400 naming this setting
     * (loading is an operator's act: {@code POST _plugins/_embeddings/models/<name>/_load}).
     */
    public static final Setting<Boolean> LOAD_ON_QUERY =
            Setting.boolSetting("embeddings.models.load_on_query", false, Setting.Property.NodeScope);
    /**
     * How long a batch of document texts may wait and run when no bulk timeout bounds it (the embed API, pipelines
     * run outside a bulk); past it the batch fails with 429. Inside a bulk, the bulk's own timeout is the deadline.
     */
    public static final Setting<TimeValue> DOCUMENT_TIMEOUT = Setting.positiveTimeSetting(
            "embeddings.document.timeout", TimeValue.timeValueMinutes(1), Setting.Property.NodeScope);
    /**
     * How long a query may wait for its query vector when its search sets no timeout; past it the search fails with
     * 429 rather than wait on behind an overloaded query lane (503 while its model loads).
     */
    public static final Setting<TimeValue> QUERY_TIMEOUT = Setting.positiveTimeSetting(
            "embeddings.query.timeout", TimeValue.timeValueSeconds(10), Setting.Property.NodeScope);
    /**
     * The limit of the plugin's circuit breaker ({@value BulkCharge#BREAKER}), which holds the bytes of the vectors
     * that {@code embed} wrote into bulks not yet answered; a slice past it fails its documents with 429. The
     * default, 5% of the heap, is half of what indexing pressure ({@code indexing_pressure.memory.limit}, 10%)
     * admits of shard requests: their JSON is mostly these vectors, and a bulk whose vectors were admitted here should
     * not be refused whole there after its inference was paid. Dynamic.
     */
    public static final Setting<ByteSizeValue> BREAKER_LIMIT = Setting.memorySizeSetting(
            BulkCharge.LIMIT_SETTING, "5%", Setting.Property.NodeScope, Setting.Property.Dynamic);
    /** Also registers neural-search's {@code neural} query name; only for clusters without neural-search. */
    public static final Setting<Boolean> NEURAL_QUERY =
            Setting.boolSetting("embeddings.neural_query.enabled", false, Setting.Property.NodeScope);

    private static final Logger LOGGER = LogManager.getLogger(EmbeddingsPlugin.class);

    private final Settings settings;
    private final SetOnce<InferenceService> inference = new SetOnce<>();
    private final SetOnce<ModelRegistry> registry = new SetOnce<>();
    private final SetOnce<EmbeddingFields> fields = new SetOnce<>();
    private final SetOnce<ThreadPool> threadPool = new SetOnce<>();
    private final SetOnce<ClusterService> clusterService = new SetOnce<>();
    private final SetOnce<CircuitBreaker> breaker = new SetOnce<>();
    private final FetchDeadline fetchDeadline = new FetchDeadline();
    private final SearchTaskFilter filter = new SearchTaskFilter(
            () -> threadPool.get() == null ? null : threadPool.get().getThreadContext(),
            () -> clusterService.get().localNode().getId());
    /** What the embed processors of this node encoded, reused, deduplicated and skipped, per model. */
    private final ReuseStats reuseStats = new ReuseStats();
    /** Indices on this node whose codec restores vectors into sources, so that their sources are stored without. */
    private final RestoringIndices restoring = new RestoringIndices();

    private final BulkChargeFilter bulkCharges = new BulkChargeFilter(
            () -> threadPool.get() == null ? null : threadPool.get().getThreadContext(), breaker::get);
    private final BulkDeadlineFilter bulkDeadlines = new BulkDeadlineFilter(
            () -> threadPool.get() == null ? null : threadPool.get().getThreadContext());

    public EmbeddingsPlugin(Settings settings) {
        this.settings = settings;
    }

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(
                INTRA_OP_THREADS,
                LONE_QUERY_THREADS,
                WORKERS,
                ALLOW_SPINNING,
                TOKEN_BUDGET,
                QUERY_TOKEN_BUDGET,
                QUERY_BURST,
                MAX_BATCH,
                CUDA,
                QUERY_CACHE_MAX_BYTES,
                QUERY_TIMEOUT,
                MAX_WAITING_QUERIES,
                DOCUMENT_TIMEOUT,
                MAX_LOADED_BYTES,
                MAX_RUN_MEMORY,
                PRELOAD,
                BREAKER_LIMIT,
                LOAD_ON_QUERY,
                NEURAL_QUERY,
                VectorCodecService.MERGE_WORKERS,
                RestoringIndices.DERIVED_SOURCE);
    }

    @Override
    public BreakerSettings getCircuitBreaker(Settings settings) {
        return new BreakerSettings(
                BulkCharge.BREAKER,
                BREAKER_LIMIT.get(settings).getBytes(),
                1.0,
                CircuitBreaker.Type.MEMORY,
                CircuitBreaker.Durability.TRANSIENT);
    }

    @Override
    public void setCircuitBreaker(CircuitBreaker circuitBreaker) {
        breaker.set(circuitBreaker);
    }

    @Override
    public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
        // One document thread: each run already spreads over all cores through intra-op threads, and the model's
        // native thread runs one sub-batch at a time, queries first. Queries need no pool: they encode in one task on
        // the model's native thread (see InferenceService).
        return List.of(
                new FixedExecutorBuilder(
                        settings,
                        InferenceService.DOCUMENT_POOL,
                        1,
                        1000,
                        "thread_pool." + InferenceService.DOCUMENT_POOL),
                new ScalingExecutorBuilder(
                        MERGE_POOL,
                        0,
                        OpenSearchExecutors.allocatedProcessors(settings),
                        TimeValue.timeValueMinutes(5),
                        "thread_pool." + MERGE_POOL),
                // Loads and int8 builds, one at a time: a build holds its source in the heap and a calibration
                // session in native memory, and two at once would only share the same cores.
                new FixedExecutorBuilder(
                        settings, InferenceService.LOAD_POOL, 1, 100, "thread_pool." + InferenceService.LOAD_POOL));
    }

    @Override
    public Collection<Object> createComponents(
            Client client,
            ClusterService clusterService,
            ThreadPool threadPool,
            ResourceWatcherService resourceWatcherService,
            ScriptService scriptService,
            NamedXContentRegistry xContentRegistry,
            Environment environment,
            NodeEnvironment nodeEnvironment,
            NamedWriteableRegistry namedWriteableRegistry,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<RepositoriesService> repositoriesServiceSupplier) {
        Settings settings = environment.settings();
        this.threadPool.set(threadPool);
        this.clusterService.set(clusterService);
        clusterService.getClusterSettings().addSettingsUpdateConsumer(BREAKER_LIMIT, limit -> {
            if (breaker.get() != null) {
                breaker.get().setLimitAndOverhead(limit.getBytes(), 1.0);
            }
        });
        NativeLibraries.configure(environment.tmpDir().resolve("embeddings-native"));
        EncoderSettings encoderSettings = new EncoderSettings(
                new SessionSettings(intraOpThreads(settings), CUDA.get(settings), ALLOW_SPINNING.get(settings)),
                TOKEN_BUDGET.get(settings),
                MAX_BATCH.get(settings),
                QUERY_TOKEN_BUDGET.get(settings),
                QUERY_BURST.get(settings),
                LONE_QUERY_THREADS.get(settings),
                workers(settings),
                MAX_RUN_MEMORY.get(settings).getBytes());
        List<Path> roots = modelRoots(environment);
        LOGGER.info("embedding models are read from {}", roots);
        ModelRegistry models = new ModelRegistry(
                roots,
                encoderSettings,
                MAX_LOADED_BYTES.get(settings).getBytes(),
                nodeEnvironment.nodeDataPaths()[0].resolve(INT8_DIR),
                threadPool.executor(InferenceService.LOAD_POOL),
                new ModelLog(),
                System::nanoTime);
        registry.set(models);
        fields.set(new EmbeddingFields(clusterService::state, indexNameExpressionResolver));
        SearchLoadPolicy policy = new SearchLoadPolicy(
                clusterService::state, fields.get(), PRELOAD.get(settings), LOAD_ON_QUERY.get(settings));
        inference.set(new InferenceService(
                models,
                InferenceService.Pools.of(threadPool),
                new QueryVectorCache(QUERY_CACHE_MAX_BYTES.get(settings).getBytes()),
                new InferenceService.Limits(
                        QUERY_TIMEOUT.get(settings), DOCUMENT_TIMEOUT.get(settings), MAX_WAITING_QUERIES.get(settings)),
                policy,
                bulkDeadlines::current));
        for (String name : PRELOAD.get(settings)) {
            models.load(name); // on the loader; ModelLog reports the outcome
        }
        return List.of(inference.get(), fields.get(), reuseStats);
    }

    /** Model lifecycle events in the node's log: where a failure's detail (paths, library messages) goes. */
    private static final class ModelLog implements ModelEvents {
        @Override
        public void loaded(String name, long bytes, long nanos) {
            LOGGER.info("loaded embedding model [{}]: {} bytes mapped, in {} ms", name, bytes, nanos / 1_000_000);
        }

        @Override
        public void failed(String name, RuntimeException reason, Throwable detail, long retryInNanos) {
            String retry = retryInNanos >= 0 ? "; retrying after " + retryInNanos / 1_000_000 + " ms" : "";
            LOGGER.warn(
                    "cannot load embedding model [" + name + "]: " + reason.getMessage() + retry, underlying(detail));
        }

        /** The library's own failure under the plugin's client-safe wrappers, with its paths and its causes. */
        private static Throwable underlying(Throwable t) {
            for (int depth = 0; depth < 8; depth++) {
                Throwable next = t instanceof ModelLoadException m
                        ? m.detail()
                        : t instanceof ModelUnavailableException u ? u.detail() : null;
                if (next == null) {
                    return t;
                }
                t = next;
            }
            return t;
        }

        @Override
        public void unloaded(String name, long bytes) {
            LOGGER.info("unloaded embedding model [{}]: {} bytes freed", name, bytes);
        }
    }

    static int intraOpThreads(Settings settings) {
        int configured = INTRA_OP_THREADS.get(settings);
        return configured > 0
                ? configured
                : Math.max(1, OpenSearchExecutors.allocatedProcessors(settings) / workers(settings));
    }

    static int workers(Settings settings) {
        int configured = WORKERS.get(settings);
        if (configured > 0) {
            return configured;
        }
        if (CUDA.get(settings)) {
            return 1;
        }
        int processors = OpenSearchExecutors.allocatedProcessors(settings);
        int intraOp = INTRA_OP_THREADS.get(settings);
        return intraOp > 0 ? Math.max(1, processors / intraOp) : Math.min(processors, AUTO_WORKERS_CAP);
    }

    /** Installed models first, then the models bundled in the plugin's own directory. */
    static List<Path> modelRoots(Environment environment) {
        Path bundled = bundledModels(environment);
        return List.of(environment.configDir().resolve(MODELS_DIR), bundled);
    }

    private static Path bundledModels(Environment environment) {
        try {
            Path jar = Path.of(EmbeddingsPlugin.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            if (jar.toString().endsWith(".jar")) {
                return jar.getParent().resolve("models");
            }
        } catch (Exception e) {
            // fall through: not running from an installed plugin jar (unit tests)
        }
        return environment.pluginsDir().resolve("embeddings").resolve("models");
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(EmbeddingFieldMapper.CONTENT_TYPE, EmbeddingFieldMapper.typeParser(registry::get));
    }

    @Override
    public Map<String, MetadataFieldMapper.TypeParser> getMetadataMappers() {
        return Map.of(DigestsFieldMapper.NAME, DigestsFieldMapper.PARSER);
    }

    /**
     * Every index stores its sources without the vectors its codec restores ({@link MaskSourceVectors}), and forgets
     * that decision when it leaves the node, so that an index opened again with another codec decides again. Every
     * index's fetch phases tell the {@code embedding} highlighter their deadline ({@link FetchDeadline}).
     */
    @Override
    public void onIndexModule(IndexModule module) {
        module.addIndexOperationListener(new MaskSourceVectors(restoring));
        module.addSearchOperationListener(fetchDeadline);
        module.addIndexEventListener(new IndexEventListener() {
            @Override
            public void afterIndexRemoved(
                    org.opensearch.core.index.Index index,
                    IndexSettings indexSettings,
                    IndicesClusterStateService.AllocatedIndices.IndexRemovalReason reason) {
                restoring.remove(index);
            }
        });
    }

    /** The per-field vector formats of {@code embedding} fields; none on indices whose codec the k-NN plugin supplies. */
    @Override
    public Optional<CodecServiceFactory> getCustomCodecServiceFactory(IndexSettings indexSettings) {
        return VectorCodecService.suppliesCodecFor(indexSettings.getSettings())
                ? Optional.of(config -> new VectorCodecService(
                        config,
                        EmbeddingFieldMapper::vectorFormat,
                        threadPool.get().executor(MERGE_POOL),
                        restoring))
                : Optional.empty();
    }

    @Override
    public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
        return Map.of(
                EmbedProcessor.TYPE,
                new EmbedProcessorFactory(
                        inference::get,
                        fields::get,
                        () -> parameters.threadContext,
                        breaker::get,
                        () -> parameters.client,
                        parameters.genericExecutor,
                        reuseStats,
                        parameters.env.settings()));
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        EmbedKnnQueryBuilder.Services services = new EmbedKnnQueryBuilder.Services(inference::get, fields::get);
        List<QuerySpec<?>> queries = new ArrayList<>();
        queries.add(new QuerySpec<>(
                EmbedKnnQueryBuilder.NAME,
                in -> new EmbedKnnQueryBuilder(in, services),
                EmbedKnnQueryParser.embedKnn(services)::parse));
        queries.add(new QuerySpec<>(FusionQueryBuilder.NAME, FusionQueryBuilder::new, FusionQueryParser::parse));
        queries.add(new QuerySpec<>(FusedIdsQueryBuilder.NAME, FusedIdsQueryBuilder::new, FusedIdsQueryBuilder::parse));
        if (NEURAL_QUERY.get(settings)) {
            // Parsed into an embed_knn builder, which is what travels between nodes; the reader is never used.
            queries.add(new QuerySpec<>(
                    EmbedKnnQueryParser.NEURAL_NAME,
                    in -> new EmbedKnnQueryBuilder(in, services),
                    EmbedKnnQueryParser.neural(services)::parse));
        }
        return queries;
    }

    @Override
    public Map<String, Highlighter> getHighlighters() {
        return Map.of(EmbeddingHighlighter.NAME, new EmbeddingHighlighter(inference::get, fetchDeadline));
    }

    @Override
    public List<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return List.of(
                new ActionHandler<>(EmbedAction.INSTANCE, TransportEmbedAction.class),
                new ActionHandler<>(ModelsAction.INSTANCE, TransportModelsAction.class),
                new ActionHandler<>(EmbeddingsStatsAction.INSTANCE, TransportEmbeddingsStatsAction.class),
                new ActionHandler<>(VectorsStatsAction.INSTANCE, TransportVectorsStatsAction.class),
                new ActionHandler<>(LoadModelAction.INSTANCE, TransportLoadModelAction.class),
                new ActionHandler<>(UnloadModelAction.INSTANCE, TransportUnloadModelAction.class));
    }

    @Override
    public List<ActionFilter> getActionFilters() {
        return List.of(filter, bulkCharges, bulkDeadlines);
    }

    @Override
    public List<RestHandler> getRestHandlers(
            Settings settings,
            RestController restController,
            ClusterSettings clusterSettings,
            IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<DiscoveryNodes> nodesInCluster) {
        return List.of(
                new RestEmbedAction(),
                new RestStatsAction(),
                new RestModelsAction(),
                new RestVectorsStatsAction(),
                new RestModelLifecycleAction());
    }

    @Override
    public void close() throws IOException {
        ModelRegistry models = registry.get();
        if (models != null) {
            models.close();
        }
    }
}

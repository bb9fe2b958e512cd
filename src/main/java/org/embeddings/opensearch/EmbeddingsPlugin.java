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
import org.embeddings.encoder.ModelRegistry;
import org.embeddings.encoder.NativeLibraries;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.opensearch.action.EmbedAction;
import org.embeddings.opensearch.action.EmbeddingsStatsAction;
import org.embeddings.opensearch.action.ModelsAction;
import org.embeddings.opensearch.action.TransportEmbedAction;
import org.embeddings.opensearch.action.TransportEmbeddingsStatsAction;
import org.embeddings.opensearch.action.TransportModelsAction;
import org.embeddings.opensearch.action.TransportVectorsStatsAction;
import org.embeddings.opensearch.action.VectorsStatsAction;
import org.embeddings.opensearch.codec.VectorCodecService;
import org.embeddings.opensearch.highlight.EmbeddingHighlighter;
import org.embeddings.opensearch.highlight.FetchDeadline;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.inference.QueryVectorCache;
import org.embeddings.opensearch.ingest.EmbedProcessor;
import org.embeddings.opensearch.ingest.EmbedProcessorFactory;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper;
import org.embeddings.opensearch.query.EmbedKnnQueryBuilder;
import org.embeddings.opensearch.query.EmbedKnnQueryParser;
import org.embeddings.opensearch.query.FusedIdsQueryBuilder;
import org.embeddings.opensearch.query.FusionQueryBuilder;
import org.embeddings.opensearch.query.FusionQueryParser;
import org.embeddings.opensearch.query.SearchTaskFilter;
import org.embeddings.opensearch.rest.RestEmbedAction;
import org.embeddings.opensearch.rest.RestModelsAction;
import org.embeddings.opensearch.rest.RestStatsAction;
import org.embeddings.opensearch.rest.RestVectorsStatsAction;
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
import org.opensearch.ingest.Processor;
import org.opensearch.plugins.ActionPlugin;
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
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

/**
 * Wiring only: registers the {@code embedding} field, the {@code embed} processor, the {@code embed_knn} query, the
 * {@code embedding} highlighter and the {@code embeddings} thread pool, and builds the one {@link ModelRegistry} of
 * the node. Extension points that OpenSearch asks for before components exist receive suppliers, filled in
 * {@link #createComponents}.
 */
public final class EmbeddingsPlugin extends Plugin
        implements MapperPlugin, IngestPlugin, SearchPlugin, ActionPlugin, EnginePlugin {
    /** Directory under the node's config directory where users install models. */
    public static final String MODELS_DIR = "embeddings/models";
    /** Directory under the node's data path where the int8 files of derived {@code <name>-int8} models are kept. */
    public static final String INT8_DIR = "embeddings/int8";

    /** ONNX Runtime intra-op threads per inference; 0 means the node's allocated processors. */
    public static final Setting<Integer> INTRA_OP_THREADS =
            Setting.intSetting("embeddings.onnx.intra_op_threads", 0, 0, Setting.Property.NodeScope);

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

    public static final Setting<Integer> MAX_BATCH =
            Setting.intSetting("embeddings.batch.max_texts", 64, 1, Setting.Property.NodeScope);
    /** Query vectors kept per node, keyed by model and text; 0 turns the cache off. */
    public static final Setting<Integer> QUERY_CACHE_SIZE =
            Setting.intSetting("embeddings.query_cache.size", 10_000, 0, Setting.Property.NodeScope);
    /** The most bytes of model files a node may hold loaded; a load past it answers 429. */
    public static final Setting<ByteSizeValue> MAX_LOADED_BYTES = Setting.byteSizeSetting(
            "embeddings.models.max_loaded_bytes", new ByteSizeValue(2, ByteSizeUnit.GB), Setting.Property.NodeScope);
    /** Models to load when the node starts instead of on first use. */
    public static final Setting<List<String>> PRELOAD =
            Setting.listSetting("embeddings.models.preload", List.of(), s -> s, Setting.Property.NodeScope);
    /**
     * How long a query may wait for its query vector when its search sets no timeout; past it the search fails with
     * 504 rather than wait on behind an overloaded query lane.
     */
    public static final Setting<TimeValue> QUERY_TIMEOUT = Setting.positiveTimeSetting(
            "embeddings.query.timeout", TimeValue.timeValueSeconds(10), Setting.Property.NodeScope);
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
    private final FetchDeadline fetchDeadline = new FetchDeadline();
    private final SearchTaskFilter filter = new SearchTaskFilter(
            () -> threadPool.get() == null ? null : threadPool.get().getThreadContext(),
            () -> clusterService.get().localNode().getId());

    public EmbeddingsPlugin(Settings settings) {
        this.settings = settings;
    }

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(
                INTRA_OP_THREADS,
                ALLOW_SPINNING,
                TOKEN_BUDGET,
                QUERY_TOKEN_BUDGET,
                MAX_BATCH,
                CUDA,
                QUERY_CACHE_SIZE,
                QUERY_TIMEOUT,
                MAX_LOADED_BYTES,
                PRELOAD,
                NEURAL_QUERY);
    }

    @Override
    public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
        // One thread per lane: each run already spreads over all cores through intra-op threads, and the model's
        // native thread runs one sub-batch at a time, queries first (see InferenceService).
        return List.of(
                new FixedExecutorBuilder(
                        settings,
                        InferenceService.DOCUMENT_POOL,
                        1,
                        1000,
                        "thread_pool." + InferenceService.DOCUMENT_POOL),
                new FixedExecutorBuilder(
                        settings, InferenceService.QUERY_POOL, 1, 1000, "thread_pool." + InferenceService.QUERY_POOL));
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
        NativeLibraries.configure(environment.tmpDir().resolve("embeddings-native"));
        EncoderSettings encoderSettings = new EncoderSettings(
                new SessionSettings(intraOpThreads(settings), CUDA.get(settings), ALLOW_SPINNING.get(settings)),
                TOKEN_BUDGET.get(settings),
                MAX_BATCH.get(settings),
                QUERY_TOKEN_BUDGET.get(settings));
        ModelRegistry models = new ModelRegistry(
                modelRoots(environment),
                encoderSettings,
                MAX_LOADED_BYTES.get(settings).getBytes(),
                nodeEnvironment.nodeDataPaths()[0].resolve(INT8_DIR));
        registry.set(models);
        inference.set(new InferenceService(
                models,
                InferenceService.Pools.of(threadPool),
                new QueryVectorCache(QUERY_CACHE_SIZE.get(settings)),
                QUERY_TIMEOUT.get(settings)));
        fields.set(new EmbeddingFields(clusterService::state, indexNameExpressionResolver));
        for (String name : PRELOAD.get(settings)) {
            threadPool.executor(InferenceService.DOCUMENT_POOL).execute(() -> {
                try {
                    models.encoder(name);
                    LOGGER.info("preloaded embedding model [{}]", name);
                } catch (RuntimeException e) {
                    LOGGER.error("cannot preload embedding model [" + name + "]", e);
                }
            });
        }
        return List.of(inference.get(), fields.get());
    }

    private static int intraOpThreads(Settings settings) {
        int configured = INTRA_OP_THREADS.get(settings);
        return configured > 0 ? configured : OpenSearchExecutors.allocatedProcessors(settings);
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

    /** The per-field vector formats of {@code embedding} fields; none on indices whose codec the k-NN plugin supplies. */
    @Override
    public Optional<CodecServiceFactory> getCustomCodecServiceFactory(IndexSettings indexSettings) {
        return VectorCodecService.suppliesCodecFor(indexSettings.getSettings())
                ? Optional.of(VectorCodecService::new)
                : Optional.empty();
    }

    @Override
    public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
        return Map.of(EmbedProcessor.TYPE, new EmbedProcessorFactory(inference::get, fields::get));
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

    /** Every index's fetch phases tell the highlighter their deadline. */
    @Override
    public void onIndexModule(IndexModule indexModule) {
        indexModule.addSearchOperationListener(fetchDeadline);
    }

    @Override
    public List<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return List.of(
                new ActionHandler<>(EmbedAction.INSTANCE, TransportEmbedAction.class),
                new ActionHandler<>(ModelsAction.INSTANCE, TransportModelsAction.class),
                new ActionHandler<>(EmbeddingsStatsAction.INSTANCE, TransportEmbeddingsStatsAction.class),
                new ActionHandler<>(VectorsStatsAction.INSTANCE, TransportVectorsStatsAction.class));
    }

    @Override
    public List<ActionFilter> getActionFilters() {
        return List.of(filter);
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
                new RestEmbedAction(), new RestStatsAction(), new RestModelsAction(), new RestVectorsStatsAction());
    }

    @Override
    public void close() throws IOException {
        ModelRegistry models = registry.get();
        if (models != null) {
            models.close();
        }
    }
}

package org.embeddings.opensearch.codec;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.embeddings.lucene.MergeWorkers;
import org.embeddings.lucene.PerFieldVectorsCodec;
import org.embeddings.lucene.VectorFormat;
import org.embeddings.opensearch.source.RestoringIndices;
import org.embeddings.opensearch.source.SourceVectorsCodec;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.codec.CodecService;
import org.opensearch.index.codec.CodecServiceConfig;
import org.opensearch.index.engine.EngineConfig;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperService;

/**
 * The codecs of an index, as OpenSearch would build them for its {@code index.codec} setting, each wrapped in a
 * {@link PerFieldVectorsCodec} that gives every {@code embedding} field with non-default {@code index_options} its
 * {@link VectorFormat}, read from the index's current mappings when a segment is written. Fields without options,
 * and every other field, keep exactly the format the wrapped codec gives them, unless the index asks for more than
 * one merge worker ({@value #MERGE_WORKERS_KEY}): then every {@code embedding} field takes its format from here, with
 * that many threads building each graph a merge writes (the segments are the same format either way).
 *
 * <p>With {@link RestoringIndices#DERIVED_SOURCE} (the default), the codec the index is configured with is wrapped once
 * more, in a {@link SourceVectorsCodec}, when it is a Lucene104 codec: its sources are then stored without their
 * vectors and read back with them, and the index is added to {@link RestoringIndices}, which lets the sources be
 * stored so. Other codecs (a codec plugin's, star-tree's) keep whole sources.
 *
 * <p>OpenSearch lets one plugin supply an index's codec service. The k-NN plugin supplies it for indices with
 * {@code index.knn: true}, so this plugin supplies none there ({@link #suppliesCodecFor}), and the mapper refuses
 * non-default {@code index_options} on such indices instead of ignoring them.
 */
public final class VectorCodecService extends CodecService {
    /** The k-NN plugin's index setting; read raw, since that plugin registers it. */
    public static final String KNN_INDEX_SETTING = "index.knn";

    static final String MERGE_WORKERS_KEY = "index.embeddings.merge_workers";
    /**
     * Threads that build one HNSW graph when segments merge (Lucene's merge workers), on the plugin's merge pool;
     * 1 merges on the merging thread alone, as Lucene does by default. Read when a segment is written, so a change
     * applies to the next merge.
     */
    public static final Setting<Integer> MERGE_WORKERS =
            Setting.intSetting(MERGE_WORKERS_KEY, 1, 1, 64, Setting.Property.IndexScope, Setting.Property.Dynamic);

    private final MapperService mapperService;
    private final Function<MappedFieldType, VectorFormat> formats;
    private final java.util.concurrent.ExecutorService mergePool;
    private final RestoringIndices restoring;
    private final Map<String, Codec> wrapped = new ConcurrentHashMap<>();

    /**
     * @param formats   the vector format of an {@code embedding} field's type, null for any other field
     * @param mergePool where merge workers beyond the merging thread run
     * @param restoring where an index whose codec restores vectors into sources is recorded
     */
    public VectorCodecService(
            CodecServiceConfig config,
            Function<MappedFieldType, VectorFormat> formats,
            java.util.concurrent.ExecutorService mergePool,
            RestoringIndices restoring) {
        super(config.getMapperService(), config.getIndexSettings(), config.getLogger(), config.getAdditionalCodecs());
        this.mapperService = config.getMapperService();
        this.formats = formats;
        this.mergePool = mergePool;
        this.restoring = restoring;
    }

    /** Whether this plugin supplies the codec service of an index with these settings. */
    public static boolean suppliesCodecFor(Settings indexSettings) {
        return indexSettings.getAsBoolean(KNN_INDEX_SETTING, false) == false;
    }

    @Override
    public Codec codec(String name) {
        Codec codec = super.codec(name);
        if (mapperService == null) {
            return codec;
        }
        Settings settings = mapperService.getIndexSettings().getSettings();
        int workers = MERGE_WORKERS.get(settings);
        Codec perField = wrapped.computeIfAbsent(
                name + "/" + workers,
                n -> new PerFieldVectorsCodec(
                        codec,
                        field -> formatOf(field, workers),
                        workers == 1 ? MergeWorkers.SINGLE : new MergeWorkers(workers, mergePool)));
        // only the codec the index writes with: a source stored without its vectors must be read by this codec
        if (RestoringIndices.DERIVED_SOURCE.get(settings)
                && name.equals(EngineConfig.INDEX_CODEC_SETTING.get(settings))
                && SourceVectorsCodec.wraps(codec)) {
            restoring.add(mapperService.index());
            return wrapped.computeIfAbsent(name + "/" + workers + "/source", n -> new SourceVectorsCodec(perField));
        }
        return perField;
    }

    private VectorFormat formatOf(String field, int workers) {
        VectorFormat format = formats.apply(mapperService.fieldType(field));
        return format == null || (format.isDefault() && workers == 1) ? null : format;
    }
}

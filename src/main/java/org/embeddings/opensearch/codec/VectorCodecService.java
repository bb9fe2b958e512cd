package org.embeddings.opensearch.codec;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.lucene.codecs.Codec;
import org.embeddings.lucene.PerFieldVectorsCodec;
import org.embeddings.lucene.VectorFormat;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper.EmbeddingFieldType;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.codec.CodecService;
import org.opensearch.index.codec.CodecServiceConfig;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperService;

/**
 * The codecs of an index, as OpenSearch would build them for its {@code index.codec} setting, each wrapped in a
 * {@link PerFieldVectorsCodec} that gives every {@code embedding} field with non-default {@code index_options} its
 * {@link VectorFormat}, read from the index's current mappings when a segment is written. Fields without options,
 * and every other field, keep exactly the format the wrapped codec gives them.
 *
 * <p>OpenSearch lets one plugin supply an index's codec service. The k-NN plugin supplies it for indices with
 * {@code index.knn: true}, so this plugin supplies none there ({@link #suppliesCodecFor}), and the mapper refuses
 * non-default {@code index_options} on such indices instead of ignoring them.
 */
public final class VectorCodecService extends CodecService {
    /** The k-NN plugin's index setting; read raw, since that plugin registers it. */
    public static final String KNN_INDEX_SETTING = "index.knn";

    private final MapperService mapperService;
    private final Map<String, Codec> wrapped = new ConcurrentHashMap<>();

    public VectorCodecService(CodecServiceConfig config) {
        super(config.getMapperService(), config.getIndexSettings(), config.getLogger(), config.getAdditionalCodecs());
        this.mapperService = config.getMapperService();
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
        return wrapped.computeIfAbsent(name, n -> new PerFieldVectorsCodec(codec, this::formatOf));
    }

    private VectorFormat formatOf(String field) {
        MappedFieldType type = mapperService.fieldType(field);
        if (type instanceof EmbeddingFieldType embedding
                && embedding.indexOptions().isDefault() == false) {
            return embedding.indexOptions();
        }
        return null;
    }
}

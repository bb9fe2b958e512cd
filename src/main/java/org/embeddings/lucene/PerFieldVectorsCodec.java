package org.embeddings.lucene;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;

/**
 * A codec that writes what {@code delegate} writes, except for the vector format of the fields that
 * {@code formats} names a {@link VectorFormat} for; every other field keeps the delegate's own per-field choice.
 *
 * <p>It carries the delegate's name. A segment records its codec by name and each vector field records its
 * format by name, and both resolve through Lucene's SPI when the segment is opened, so that a node reads these
 * segments back with the delegate codec and the SPI-registered formats of {@link VectorFormat}, without this class:
 * after a restart, on another node after a relocation, or in a tool such as {@code CheckIndex}.
 */
public final class PerFieldVectorsCodec extends FilterCodec {
    private final KnnVectorsFormat vectors;

    /**
     * @param formats the format of a field by name, or null to keep the delegate's format for it
     */
    public PerFieldVectorsCodec(Codec delegate, Function<String, VectorFormat> formats) {
        this(delegate, formats, MergeWorkers.SINGLE);
    }

    /**
     * @param formats the format of a field by name, or null to keep the delegate's format for it
     * @param workers how the graphs of the fields {@code formats} names are built when segments merge
     */
    public PerFieldVectorsCodec(Codec delegate, Function<String, VectorFormat> formats, MergeWorkers workers) {
        super(delegate.getName(), delegate);
        KnnVectorsFormat fallback = delegate.knnVectorsFormat();
        Map<VectorFormat, KnnVectorsFormat> instances = new ConcurrentHashMap<>();
        this.vectors = new PerFieldKnnVectorsFormat() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                VectorFormat format = formats.apply(field);
                if (format != null) {
                    // one instance per distinct format: fields alike then share one writer and its files
                    return instances.computeIfAbsent(format, f -> f.newFormat(workers));
                }
                return fallback instanceof PerFieldKnnVectorsFormat perField
                        ? perField.getKnnVectorsFormatForField(field)
                        : fallback;
            }
        };
    }

    @Override
    public KnnVectorsFormat knnVectorsFormat() {
        return vectors;
    }
}

package org.embeddings.opensearch.source;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;

/**
 * The codec of an index whose sources keep markers in place of their vectors: its segments are those of the wrapped
 * {@code Lucene104} codec except for the stored fields, which read {@code _source} back with its vectors restored
 * ({@link SourceVectorsFormat}).
 *
 * <p>Segments record this codec's name, {@value #NAME}, so that any node reads them back through Lucene's SPI with
 * this class (the no-argument constructor) and restores their vectors, after a restart, a relocation or a snapshot
 * restore: that is the price of storing each vector once, the plugin is needed to read such a segment, as the k-NN
 * plugin is for its derived source. Every format but the stored fields is the {@code Lucene104} codec's, read by their
 * own per-field names (postings, doc values and vectors) or Lucene104's (the rest), so the wrapped codec must be a
 * {@code Lucene104} codec (OpenSearch's {@code default}, {@code best_compression} and {@code lucene_default} are; the
 * stored fields' compression mode is recorded in each segment). Only {@link #wraps} codecs are wrapped.
 */
public final class SourceVectorsCodec extends FilterCodec {
    public static final String NAME = "Embeddings104";
    /** The codec whose formats this one reads and writes (all but the stored fields, which it wraps). */
    static final String WRAPPED = "Lucene104";

    private final StoredFieldsFormat storedFields;

    /** Reads segments this codec wrote; Lucene's SPI calls it. */
    public SourceVectorsCodec() {
        this(new Lucene104Codec());
    }

    /** Writes what {@code delegate} (a {@link #wraps} codec, maybe with per-field vector formats) writes. */
    public SourceVectorsCodec(Codec delegate) {
        super(NAME, delegate);
        this.storedFields = new SourceVectorsFormat(delegate.storedFieldsFormat(), delegate.knnVectorsFormat());
    }

    /** Whether segments of {@code codec} can be written by this codec: those of a Lucene104 codec. */
    public static boolean wraps(Codec codec) {
        return WRAPPED.equals(codec.getName());
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
        return storedFields;
    }
}

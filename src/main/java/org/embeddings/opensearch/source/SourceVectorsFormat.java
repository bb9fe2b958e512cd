package org.embeddings.opensearch.source;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.StoredFieldsWriter;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.StoredFieldDataInput;
import org.apache.lucene.index.StoredFieldVisitor;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IOUtils;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.index.mapper.SourceFieldMapper;

/**
 * A stored-fields format that reads back each document's {@code _source} with the vectors that
 * {@link MaskSourceVectors} replaced by markers, from the segment's own vector files; it writes exactly what the
 * wrapped format writes.
 *
 * <p>Reading: in a segment with float vector fields, a visitor that asks for {@code _source} gets it from
 * {@link VectorMarkers#restore}; every other field, and every source without a marker (written before this format, or
 * whose vectors stayed in it), passes as stored. So GET, multi-get, search hits, scripts, {@code _update},
 * {@code _update_by_query}, {@code _reindex} and peer recovery from Lucene's history all see the vectors.
 *
 * <p>Merging: the merged segment must keep the markers, not the restored floats, so the writer hands the merge the
 * wrapped readers of its segments instead of the restoring ones; the wrapped format then copies their compressed
 * blocks as they are. (The merge instance itself still restores, because OpenSearch also reads hits sequentially
 * through merge instances.)
 */
final class SourceVectorsFormat extends StoredFieldsFormat {
    private final StoredFieldsFormat delegate;
    private final KnnVectorsFormat vectors;

    SourceVectorsFormat(StoredFieldsFormat delegate, KnnVectorsFormat vectors) {
        this.delegate = delegate;
        this.vectors = vectors;
    }

    @Override
    public StoredFieldsReader fieldsReader(Directory directory, SegmentInfo si, FieldInfos fn, IOContext context)
            throws IOException {
        StoredFieldsReader in = delegate.fieldsReader(directory, si, fn, context);
        Set<String> fields = new HashSet<>();
        for (FieldInfo info : fn) {
            if (info.getVectorDimension() > 0 && info.getVectorEncoding() == VectorEncoding.FLOAT32) {
                fields.add(info.name);
            }
        }
        if (fields.isEmpty()) {
            return in;
        }
        return new Reader(
                in,
                Set.copyOf(fields),
                new SegmentVectors(vectors, new SegmentReadState(directory, si, fn, context)),
                true);
    }

    @Override
    public StoredFieldsWriter fieldsWriter(Directory directory, SegmentInfo si, IOContext context) throws IOException {
        return new Writer(delegate.fieldsWriter(directory, si, context));
    }

    /** Restores the vectors of {@code _source}; the original owns the segment's vectors and closes them. */
    static final class Reader extends StoredFieldsReader {
        private final StoredFieldsReader in;
        private final Set<String> fields;
        private final SegmentVectors vectors;
        private final boolean owner;

        Reader(StoredFieldsReader in, Set<String> fields, SegmentVectors vectors, boolean owner) {
            this.in = in;
            this.fields = fields;
            this.vectors = vectors;
            this.owner = owner;
        }

        /** The wrapped reader, which reads sources with their markers. */
        StoredFieldsReader unwrap() {
            return in;
        }

        @Override
        public void document(int docID, StoredFieldVisitor visitor) throws IOException {
            in.document(docID, new Restoring(visitor, docID));
        }

        @Override
        public void prefetch(int docID) throws IOException {
            in.prefetch(docID);
        }

        @Override
        public StoredFieldsReader clone() {
            return new Reader(in.clone(), fields, vectors, false);
        }

        @Override
        public StoredFieldsReader getMergeInstance() {
            return new Reader(in.getMergeInstance(), fields, vectors, false);
        }

        @Override
        public void checkIntegrity() throws IOException {
            in.checkIntegrity();
        }

        @Override
        public void close() throws IOException {
            if (owner) {
                IOUtils.close(in, vectors);
            } else {
                in.close();
            }
        }

        /** Hands every field on, {@code _source} with its vectors restored. */
        private final class Restoring extends FilterStoredFieldVisitor {
            private final int docID;

            Restoring(StoredFieldVisitor in, int docID) {
                super(in);
                this.docID = docID;
            }

            @Override
            public void binaryField(FieldInfo fieldInfo, StoredFieldDataInput value) throws IOException {
                if (SourceFieldMapper.NAME.equals(fieldInfo.name)) {
                    // the source has to be read to be restored: as StoredFieldVisitor's own default does
                    byte[] bytes = new byte[value.getLength()];
                    value.getDataInput().readBytes(bytes, 0, bytes.length);
                    binaryField(fieldInfo, bytes);
                } else {
                    super.binaryField(fieldInfo, value);
                }
            }

            @Override
            public void binaryField(FieldInfo fieldInfo, byte[] value) throws IOException {
                if (SourceFieldMapper.NAME.equals(fieldInfo.name)) {
                    BytesReference restored =
                            VectorMarkers.restore(new BytesArray(value), fields, vectors.lookup(docID));
                    if (restored != null) {
                        BytesRef ref = restored.toBytesRef();
                        value = ref.offset == 0 && ref.length == ref.bytes.length
                                ? ref.bytes
                                : BytesRef.deepCopyOf(ref).bytes;
                    }
                }
                super.binaryField(fieldInfo, value);
            }
        }
    }

    /** Writes through to the wrapped writer; merges its segments from their stored bytes, markers kept. */
    static final class Writer extends FilterStoredFieldsWriter {
        Writer(StoredFieldsWriter in) {
            super(in);
        }

        @Override
        public int merge(MergeState mergeState) throws IOException {
            for (int i = 0; i < mergeState.storedFieldsReaders.length; i++) {
                if (mergeState.storedFieldsReaders[i] instanceof Reader restoring) {
                    mergeState.storedFieldsReaders[i] = restoring.unwrap();
                }
            }
            return super.merge(mergeState);
        }
    }
}

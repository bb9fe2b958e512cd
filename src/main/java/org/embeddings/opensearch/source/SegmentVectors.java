package org.embeddings.opensearch.source;

import java.io.Closeable;
import java.io.IOException;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.store.IOContext;

/**
 * The float vectors of one segment, read for restoring sources: a reader of the segment's vector files of its own,
 * opened on first use (a segment whose sources hold no marker never opens it) and closed with the stored-fields reader
 * that owns it. {@link #lookup} gives one document read its own cursors; the reader itself is shared by the clones of
 * the stored-fields reader, since each lookup takes fresh vector values from it.
 *
 * <p>For a quantized field this is the float32 copy Lucene keeps beside the quantized one (for rescoring and merges),
 * so every format restores the floats that were indexed.
 */
final class SegmentVectors implements Closeable {
    private final KnnVectorsFormat format;
    private final SegmentReadState state;
    private KnnVectorsReader reader;
    private boolean closed;

    SegmentVectors(KnnVectorsFormat format, SegmentReadState state) {
        // random access into the vector data: never the read-once context a segment may be opened with
        this.format = format;
        this.state = new SegmentReadState(state.directory, state.segmentInfo, state.fieldInfos, IOContext.DEFAULT);
    }

    private synchronized KnnVectorsReader reader() throws IOException {
        if (closed) {
            throw new IllegalStateException("the vectors of segment [" + state.segmentInfo.name + "] are closed");
        }
        if (reader == null) {
            reader = format.fieldsReader(state);
        }
        return reader;
    }

    /** Cursors for one document's markers: each field's values advanced in increasing document order. */
    VectorMarkers.Vectors lookup(int root) {
        return new VectorMarkers.Vectors() {
            private String field;
            private FloatVectorValues values;
            private KnnVectorValues.DocIndexIterator iterator;

            @Override
            public float[] vector(String name, int distance) throws IOException {
                int doc = root - distance;
                if (doc < 0 || distance < 0) {
                    return null;
                }
                if (name.equals(field) == false || iterator.docID() > doc) {
                    FloatVectorValues fresh = reader().getFloatVectorValues(name);
                    if (fresh == null) {
                        field = null;
                        return null;
                    }
                    field = name;
                    values = fresh;
                    iterator = fresh.iterator();
                }
                if (iterator.docID() < doc) {
                    iterator.advance(doc);
                }
                return iterator.docID() == doc
                        ? values.vectorValue(iterator.index()).clone()
                        : null;
            }
        };
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        if (reader != null) {
            reader.close();
            reader = null;
        }
    }
}

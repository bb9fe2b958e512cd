package org.embeddings.opensearch.source;

import java.io.IOException;
import org.apache.lucene.codecs.StoredFieldsWriter;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.StoredFieldDataInput;
import org.apache.lucene.util.BytesRef;

/**
 * A stored-fields writer that hands every call to the writer it wraps, so that a subclass overrides only the calls it
 * changes. Every method is forwarded, the ones with a default in {@link StoredFieldsWriter} included, so that the
 * wrapped writer's own versions (a bulk merge, a copy of undecoded bytes) still run.
 */
abstract class FilterStoredFieldsWriter extends StoredFieldsWriter {
    protected final StoredFieldsWriter in;

    FilterStoredFieldsWriter(StoredFieldsWriter in) {
        this.in = in;
    }

    @Override
    public void startDocument() throws IOException {
        in.startDocument();
    }

    @Override
    public void finishDocument() throws IOException {
        in.finishDocument();
    }

    @Override
    public void writeField(FieldInfo info, int value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, long value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, float value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, double value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, StoredFieldDataInput value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, BytesRef value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void writeField(FieldInfo info, String value) throws IOException {
        in.writeField(info, value);
    }

    @Override
    public void finish(int numDocs) throws IOException {
        in.finish(numDocs);
    }

    @Override
    public int merge(MergeState mergeState) throws IOException {
        return in.merge(mergeState);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    @Override
    public long ramBytesUsed() {
        return in.ramBytesUsed();
    }
}

package org.embeddings.opensearch.source;

import java.io.IOException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.StoredFieldDataInput;
import org.apache.lucene.index.StoredFieldVisitor;

/**
 * A stored-field visitor that hands every call to the visitor it wraps, so that a subclass overrides only the calls it
 * changes. Lucene has no such base; without it each wrapping visitor would repeat every forwarding method, and one it
 * forgot would silently drop that type of field (the defaults of {@link StoredFieldVisitor} ignore the value).
 */
abstract class FilterStoredFieldVisitor extends StoredFieldVisitor {
    protected final StoredFieldVisitor in;

    FilterStoredFieldVisitor(StoredFieldVisitor in) {
        this.in = in;
    }

    @Override
    public void binaryField(FieldInfo fieldInfo, StoredFieldDataInput value) throws IOException {
        in.binaryField(fieldInfo, value);
    }

    @Override
    public void binaryField(FieldInfo fieldInfo, byte[] value) throws IOException {
        in.binaryField(fieldInfo, value);
    }

    @Override
    public void stringField(FieldInfo fieldInfo, String value) throws IOException {
        in.stringField(fieldInfo, value);
    }

    @Override
    public void intField(FieldInfo fieldInfo, int value) throws IOException {
        in.intField(fieldInfo, value);
    }

    @Override
    public void longField(FieldInfo fieldInfo, long value) throws IOException {
        in.longField(fieldInfo, value);
    }

    @Override
    public void floatField(FieldInfo fieldInfo, float value) throws IOException {
        in.floatField(fieldInfo, value);
    }

    @Override
    public void doubleField(FieldInfo fieldInfo, double value) throws IOException {
        in.doubleField(fieldInfo, value);
    }

    @Override
    public Status needsField(FieldInfo fieldInfo) throws IOException {
        return in.needsField(fieldInfo);
    }
}

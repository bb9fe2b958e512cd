package org.embeddings.opensearch.source;

import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.KnnFloatVectorField;

/**
 * The vector an {@code embedding} field indexes, with whether it is exactly the floats its document's source holds:
 * then the stored source may keep a marker instead ({@link MaskSourceVectors}), and a read restores those floats from
 * the vector files. A vector the mapper changed (a quantized cosine field normalizes it) is not exact, and stays in the
 * source.
 */
public final class SourceVectorField extends KnnFloatVectorField {
    private final boolean exact;

    public SourceVectorField(String name, float[] vector, FieldType type, boolean exact) {
        super(name, vector, type);
        this.exact = exact;
    }

    /** Whether the floats indexed are those of the source, so that the source need not hold them too. */
    public boolean exact() {
        return exact;
    }
}

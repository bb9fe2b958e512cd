package org.embeddings.opensearch.ingest;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A vector as an ingest document holds it: an unmodifiable {@code List<Float>} over the encoder's own
 * {@code float[]}, boxing a component only when one is read.
 *
 * <p>Why a list and not the array: an ingest document is a tree of maps, lists and scalars, and OpenSearch copies it
 * ({@code _simulate?verbose}) and hands it to later processors (painless sees {@code ctx.vec.size()}) as such; a bare
 * {@code float[]} serializes, but fails a copy with "unexpected value type". Why not an {@code ArrayList<Float>}: a
 * one-word ingest document holding 384 boxed {@code Float}s takes 7.2 KB of heap, and 2.6 KB with this list over the
 * array (docs/reliability.md, {@code bench.sh ingest-heap}), and a bulk holds every document's vector until it is
 * indexed. Serializing iterates the list; a copy of the document is an ordinary list of boxed values.
 */
public final class VectorList extends AbstractList<Float> implements RandomAccess {
    private final float[] vector;

    /** Takes the array as is; the caller hands it over and does not change it afterwards. */
    public VectorList(float[] vector) {
        this.vector = vector;
    }

    @Override
    public Float get(int index) {
        return vector[index];
    }

    @Override
    public int size() {
        return vector.length;
    }
}

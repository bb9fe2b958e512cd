package org.embeddings.opensearch.ingest;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A vector as an ingest document holds it: an unmodifiable {@code List<Float>} over the encoder's own
 * {@code float[]}, boxing a component only when one is read.
 *
 * <p>Why a list and not the array: an ingest document is a tree of maps, lists and scalars, and OpenSearch copies it
 * ({@code _simulate?verbose}) and hands it to later processors (painless sees {@code ctx.vec.size()}) as such; a bare
 * {@code float[]} serializes, but fails a copy with "unexpected value type". Why not an {@code ArrayList<Float>}: its
 * 384 boxed {@code Float}s take about 7.7 KB of heap against the array's 1.5 KB (docs/reliability.md, measured with
 * {@code bench.sh ingest-heap}), and a bulk holds every document's vector until it is indexed. Serializing iterates
 * the list; a copy of the document is an ordinary list of boxed values.
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

package org.embeddings.opensearch.ingest;

import org.apache.lucene.util.RamUsageEstimator;

/**
 * What one vector written by {@code embed} costs the heap until its bulk is indexed, as charged to the plugin's
 * circuit breaker ({@link BulkCharge}).
 *
 * <p>A vector lives twice: as the encoder's {@code float[]} in the ingest document ({@link VectorList}), and, once
 * the pipeline is done, as JSON text in the index request's source, which the bulk keeps until its shards answer.
 * The JSON dominates: Jackson writes each component as the shortest decimal that reads back the same float, which
 * for unit vectors averages {@value #JSON_BYTES_PER_COMPONENT} bytes with its comma (measured on bge-small-en-v1.5:
 * 12.3, {@code bench.sh ingest-heap}). A passage adds its object ({@code {FIELD: vector, "start", "end"}}, and
 * {@code "element"} for pre-chunked input), as a map in the document and as keys and numbers in the JSON.
 */
public final class VectorBytes {
    /** The JSON text of one vector component, comma included, rounded up from the measured mean. */
    static final int JSON_BYTES_PER_COMPONENT = 13;
    /** A passage's map with its three entries and boxed span, and its keys and numbers in JSON. */
    static final int PASSAGE_OBJECT_BYTES = 320;
    /** A pre-chunked passage's {@code "element"} entry: a map node, a boxed position, and its key and number in JSON. */
    static final int ELEMENT_ENTRY_BYTES = 80;

    private VectorBytes() {}

    /** The heap one vector of {@code dims} components takes in flight: the array, its list, its JSON text. */
    public static long perVector(int dims) {
        return RamUsageEstimator.sizeOf(new float[0])
                + 4L * dims
                + RamUsageEstimator.shallowSizeOfInstance(VectorList.class)
                + (long) JSON_BYTES_PER_COMPONENT * dims;
    }

    /** The heap one passage of {@code dims} components takes in flight: its vector and its object. */
    public static long perPassage(int dims) {
        return perVector(dims) + PASSAGE_OBJECT_BYTES;
    }

    /** {@link #perPassage(int)}, with the fourth entry of a pre-chunked element's passage when {@code element}. */
    public static long perPassage(int dims, boolean element) {
        return perPassage(dims) + (element ? ELEMENT_ENTRY_BYTES : 0);
    }
}

package org.embeddings.lucene;

import java.util.Locale;

/**
 * How an {@code embedding} field stores the copy of its vectors that search walks: {@link #NONE} keeps float32
 * only; the others add a scalar-quantized copy (Lucene's optimized scalar quantization, one encoding each) that
 * the graph is built and searched on, while the float32 vectors stay on disk for rescoring and merges.
 *
 * <p>Bytes per 384-dim vector on the search path: none 1,536; int8 384 + 16 of corrections; int4 192 + 16; binary
 * 48 + 16. The default {@link #defaultOversample() oversample} of each was chosen by measurement on SciFact with
 * bge-small-en-v1.5 (docs/vectors.md): the smallest that keeps nDCG@10 within 0.3 of float32 HNSW, or stops
 * gaining. int8 loses nothing (its rescoring of the k hits only makes their scores exact); int4 gains nothing past
 * 3; binary needs 5 (-0.24 at 100 candidates; -4.3 without rescoring).
 */
public enum Quantization {
    NONE(null, 1f),
    INT8("UNSIGNED_BYTE", 1f),
    INT4("PACKED_NIBBLE", 3f),
    BINARY("SINGLE_BIT_QUERY_NIBBLE", 5f);

    private final String luceneEncoding;
    private final float defaultOversample;

    Quantization(String luceneEncoding, float defaultOversample) {
        this.luceneEncoding = luceneEncoding;
        this.defaultOversample = defaultOversample;
    }

    /** The name users write in mappings. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The constant of Lucene's {@code ScalarEncoding} enum, or null for float32 only. */
    String luceneEncoding() {
        return luceneEncoding;
    }

    public boolean quantized() {
        return this != NONE;
    }

    /** Candidates per hit taken from the quantized search and rescored with float vectors; 1 for {@link #NONE}. */
    public float defaultOversample() {
        return defaultOversample;
    }

    /** Parses a mapping value; names the accepted values when it is none of them. */
    public static Quantization of(String label) {
        for (Quantization q : values()) {
            if (q.label().equals(label)) {
                return q;
            }
        }
        throw new IllegalArgumentException(
                "unknown quantization [" + label + "], expected one of [none, int8, int4, binary]");
    }
}

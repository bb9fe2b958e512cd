package org.embeddings.opensearch;

import org.embeddings.encoder.int8.Int8Name;

/**
 * The one rule of what an {@code embedding} field bound to a model (its mapping's {@code model}) takes: the vectors
 * stored in it come from exactly that model, so that every document vector of a field is comparable with every
 * other; queries may be encoded by that model or by its int8 form, since int8 query vectors against fp32 document
 * vectors keep SciFact nDCG@10 within 0.2 of fp32 (docs/int8.md) and encode faster. Names are compared as given:
 * callers pass names normalized once, where they are parsed.
 */
public final class ModelBinding {
    private ModelBinding() {}

    /** Whether a field bound to {@code bound} (null: unbound) stores vectors that {@code model} encodes. */
    public static boolean takesDocumentsOf(String bound, String model) {
        return bound == null || bound.equals(model);
    }

    /** Whether a field bound to {@code bound} (null: unbound) is searched with query vectors {@code model} encodes. */
    public static boolean takesQueriesOf(String bound, String model) {
        return bound == null || bound.equals(model) || Int8Name.isInt8Of(model, bound);
    }
}

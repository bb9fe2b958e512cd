package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;

/**
 * Cuts a bulk's documents, in order, into the slices {@code embed} encodes and writes back one at a time: a slice
 * takes documents while it holds at most {@code maxTexts} texts and {@code maxChars} characters of them; a document's
 * texts stay in one slice, and a document past either bound is a slice of its own. So a bulk of any size holds the
 * tokens and the not-yet-written vectors of one slice at a time, and a slice refused by the breaker fails only its
 * own documents.
 */
final class Slices {
    /**
     * Texts per slice: above the 64 of one encoder sub-batch, so that length sorting still has texts to sort, and at
     * bulks of 100 (the benchmarks') a bulk is one slice.
     */
    static final int MAX_TEXTS = 256;
    /** Characters per slice (UTF-16 units): what one slice's tokenizing and cutting may hold, about 1 MB of text. */
    static final long MAX_CHARS = 1 << 20;

    private Slices() {}

    static <T> List<List<T>> cut(List<T> documents, ToIntFunction<T> texts, ToLongFunction<T> chars) {
        return cut(documents, texts, chars, MAX_TEXTS, MAX_CHARS);
    }

    static <T> List<List<T>> cut(
            List<T> documents, ToIntFunction<T> texts, ToLongFunction<T> chars, int maxTexts, long maxChars) {
        List<List<T>> slices = new ArrayList<>();
        List<T> slice = new ArrayList<>();
        int sliceTexts = 0;
        long sliceChars = 0;
        for (T document : documents) {
            int n = texts.applyAsInt(document);
            long c = chars.applyAsLong(document);
            if (slice.isEmpty() == false && (sliceTexts + n > maxTexts || sliceChars + c > maxChars)) {
                slices.add(slice);
                slice = new ArrayList<>();
                sliceTexts = 0;
                sliceChars = 0;
            }
            slice.add(document);
            sliceTexts += n;
            sliceChars += c;
        }
        if (slice.isEmpty() == false) {
            slices.add(slice);
        }
        return slices;
    }
}

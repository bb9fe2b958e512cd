package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.passages.Passage;

/**
 * The nested objects the {@code embed} processor writes for a text's passages:
 * {@code {FIELD: vector, "start": s, "end": e}}, where {@code [s, e)} is the passage's span in the text (UTF-16
 * offsets), and for pre-chunked input {@code "element": i}, the position in the source array of the element the
 * span indexes. Vectors stay the encoder's arrays ({@link VectorList}) until the document is serialized.
 */
final class PassageObjects {
    /** The passage object's keys for its character span in the source text, and for its element. */
    static final String START = "start", END = "end", ELEMENT = "element";

    private PassageObjects() {}

    /**
     * The objects of {@code passages}, vectors under {@code field}; {@code elements} holds each passage's element, or
     * is null for a source string.
     */
    static List<Map<String, Object>> of(String field, List<Passage> passages, int[] elements) {
        List<Map<String, Object>> objects = new ArrayList<>(passages.size());
        for (int i = 0; i < passages.size(); i++) {
            Passage passage = passages.get(i);
            Map<String, Object> object = new LinkedHashMap<>();
            object.put(field, new VectorList(passage.vector()));
            object.put(START, passage.start());
            object.put(END, passage.end());
            if (elements != null) {
                object.put(ELEMENT, elements[i]);
            }
            objects.add(object);
        }
        return objects;
    }
}

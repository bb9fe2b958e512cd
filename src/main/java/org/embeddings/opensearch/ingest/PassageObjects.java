package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.embeddings.encoder.Passage;

/**
 * The nested objects the {@code embed} processor writes for a text's passages:
 * {@code {FIELD: vector, "start": s, "end": e}}, where {@code [s, e)} is the passage's span in the text (UTF-16
 * offsets), and for pre-chunked input {@code "element": i}, the position in the source array of the element the
 * span indexes.
 */
final class PassageObjects {
    /** The passage object's keys for its character span in the source text, and for its element. */
    static final String START = "start", END = "end", ELEMENT = "element";

    private PassageObjects() {}

    /** The objects of {@code passages}, vectors under {@code field}; {@code element} is -1 for a source string. */
    static List<Map<String, Object>> of(String field, List<Passage> passages, int element) {
        List<Map<String, Object>> objects = new ArrayList<>(passages.size());
        for (Passage passage : passages) {
            Map<String, Object> object = new LinkedHashMap<>();
            object.put(field, toList(passage.vector()));
            object.put(START, passage.start());
            object.put(END, passage.end());
            if (element >= 0) {
                object.put(ELEMENT, element);
            }
            objects.add(object);
        }
        return objects;
    }

    static List<Float> toList(float[] vector) {
        List<Float> out = new ArrayList<>(vector.length);
        for (float v : vector) {
            out.add(v);
        }
        return out;
    }
}

package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.List;
import org.embeddings.encoder.InvalidInputException;

/**
 * The texts of one source field of a document for the {@code embed} processor: a string is one text; with chunking,
 * an array of strings is pre-chunked input, one text per element (each becomes its own passages, never packed with
 * another element). Anything else, a blank string, an empty array, or an element that is not a non-blank string, is
 * the document's error, a 400 that names the field and the element.
 */
final class SourceTexts {
    private SourceTexts() {}

    /**
     * The texts of {@code value}, the non-null value of source field {@code field}; {@code passages} says whether the
     * processor cuts passages (only then may the value be an array).
     */
    static List<String> of(String field, Object value, boolean passages) {
        if (value instanceof String text) {
            if (text.isBlank()) {
                throw new InvalidInputException("[embed] source field [" + field + "] is empty; nothing to embed");
            }
            return List.of(text);
        }
        if (value instanceof List<?> list) {
            if (passages == false) {
                throw new InvalidInputException("[embed] source field [" + field + "] is an array; pre-chunked input"
                        + " (one passage per element) needs [chunking] and a [PATH.FIELD] target");
            }
            if (list.isEmpty()) {
                throw new InvalidInputException(
                        "[embed] source field [" + field + "] is an empty array; nothing to embed");
            }
            List<String> texts = new ArrayList<>(list.size());
            for (int i = 0; i < list.size(); i++) {
                if (list.get(i) instanceof String text && text.isBlank() == false) {
                    texts.add(text);
                } else {
                    Object element = list.get(i);
                    throw new InvalidInputException("[embed] element [" + i + "] of source field [" + field
                            + "] must be a non-empty string, got "
                            + (element == null
                                    ? "[null]"
                                    : element instanceof String ? "a blank string" : "[" + typeOf(element) + "]"));
                }
            }
            return texts;
        }
        throw new InvalidInputException("[embed] source field [" + field + "] must be a string"
                + (passages ? " or an array of strings" : "") + ", got [" + typeOf(value) + "]");
    }

    private static String typeOf(Object value) {
        return value.getClass().getSimpleName();
    }
}

package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.embeddings.opensearch.mapper.DigestsFieldMapper;
import org.opensearch.common.xcontent.support.XContentMapValues;

/**
 * The {@code _embeddings} object of a source ({@link DigestsFieldMapper}) as the {@code embed} processor reads and
 * writes it: by target field, the {@link Digests} its vectors were made from. A plain target holds its text's digest;
 * a chunked target {@code PATH.FIELD} holds {@code {"text": document digest, "windows": [one per passage of PATH, in
 * order]}}. Also reads the vectors beside them, from an ingest document or a stored version's source, checking their
 * shape: a value that is not what the processor writes is no vector.
 */
final class SourceDigests {
    static final String TEXT = "text", WINDOWS = "windows";

    private SourceDigests() {}

    /** A chunked target's digests: its document's, and each passage's window, in passage order. */
    record Passages(String document, List<String> windows) {}

    private static Map<?, ?> digests(Map<String, Object> source) {
        return source.get(DigestsFieldMapper.NAME) instanceof Map<?, ?> m ? m : Map.of();
    }

    /** The digest of a plain target, or null. */
    static String text(Map<String, Object> source, String target) {
        return digests(source).get(target) instanceof String s ? s : null;
    }

    /** The digests of a chunked target, or null. */
    static Passages passages(Map<String, Object> source, String target) {
        if (digests(source).get(target) instanceof Map<?, ?> m
                && m.get(TEXT) instanceof String document
                && m.get(WINDOWS) instanceof List<?> windows) {
            List<String> out = new ArrayList<>(windows.size());
            for (Object w : windows) {
                if (w instanceof String s) {
                    out.add(s);
                } else {
                    return null;
                }
            }
            return new Passages(document, out);
        }
        return null;
    }

    /** Records what {@code target}'s vectors were made from: a text digest, or a chunked target's digests. */
    @SuppressWarnings("unchecked")
    static void put(Map<String, Object> source, String target, Object digest) {
        Object current = source.get(DigestsFieldMapper.NAME);
        Map<String, Object> digests;
        if (current instanceof Map<?, ?> m) {
            digests = (Map<String, Object>) m;
        } else {
            digests = new LinkedHashMap<>();
            source.put(DigestsFieldMapper.NAME, digests);
        }
        if (digest instanceof Passages p) {
            Map<String, Object> value = new LinkedHashMap<>();
            value.put(TEXT, p.document());
            value.put(WINDOWS, p.windows());
            digests.put(target, value);
        } else {
            digests.put(target, digest);
        }
    }

    /** The value at a dotted path of a source, or null. */
    static Object value(Map<String, Object> source, String path) {
        return XContentMapValues.extractValue(path, source);
    }

    /** A vector of {@code dims} finite floats, or null. */
    static float[] vector(Object value, int dims) {
        if (value instanceof List<?> list && list.size() == dims) {
            float[] v = new float[dims];
            for (int i = 0; i < dims; i++) {
                if (list.get(i) instanceof Number n && Float.isFinite(n.floatValue())) {
                    v[i] = n.floatValue();
                } else {
                    return null;
                }
            }
            return v;
        }
        return null;
    }

    /** One stored passage: its span, vector, and for pre-chunked input its element of the source array (else -1). */
    record Passage(int start, int end, float[] vector, int element) {}

    /**
     * The passages a chunked target's path holds, each with a vector of {@code dims} in {@code field}, its span and its
     * element if it has one, or null when any object is not such a passage.
     */
    static List<Passage> passages(Object value, String field, int dims) {
        if (value instanceof List<?> list) {
            List<Passage> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (o instanceof Map<?, ?> m
                        && m.get(EmbedProcessor.START) instanceof Number start
                        && m.get(EmbedProcessor.END) instanceof Number end) {
                    float[] v = vector(m.get(field), dims);
                    if (v == null) {
                        return null;
                    }
                    int element = m.get(EmbedProcessor.ELEMENT) instanceof Number e ? e.intValue() : -1;
                    out.add(new Passage(start.intValue(), end.intValue(), v, element));
                } else {
                    return null;
                }
            }
            return out;
        }
        return null;
    }
}

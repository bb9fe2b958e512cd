package org.embeddings.opensearch.source;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.MediaType;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.XContentGenerator;
import org.opensearch.core.xcontent.XContentParser;

/**
 * A document's stored {@code _source} with its vectors replaced by markers, and the same source with the vectors put
 * back: the vectors live once, in the vector files, and the source keeps a small integer where each one was.
 *
 * <p>A marker is the number of Lucene documents between the document that holds the vector and the root document of
 * its block: 0 for a vector of the root document itself, {@code k} for a nested object's vector, whose Lucene document
 * lies {@code k} before the root (OpenSearch writes a document's nested objects before it, in source order). So a
 * marker finds its vector without any other index structure, and keeps finding it after merges, which move blocks
 * whole. A vector field's value in a source is otherwise always an array, so a number there can only be a marker.
 *
 * <p>Both directions stream the source once, token by token, in its own content type (JSON, SMILE, CBOR, YAML); only
 * the objects on the way to a vector field are walked, every other value is copied whole by the parser's generator.
 * Paths are dotted: a key {@code "passages.vec"} and an object {@code passages} holding {@code vec} both name the field
 * {@code passages.vec}; an array keeps the path of its elements.
 */
public final class VectorMarkers {
    private VectorMarkers() {}

    /**
     * One vector of a document as the mapper indexed it: how many Lucene documents before the root its document lies,
     * and whether the vector indexed is exactly the floats the source holds (a field that changes a vector, as
     * normalizing a quantized cosine field does, keeps its vector in the source).
     */
    public record Occurrence(int distance, boolean exact) {}

    /** A vector of a segment: that of {@code field} in the document {@code distance} before {@code root}. */
    public interface Vectors {
        /** The vector, or null when the segment holds none there. */
        float[] vector(String field, int distance) throws IOException;
    }

    /**
     * The source with each exactly held vector replaced by its marker: the occurrences of every field, in source order,
     * are those the mapper indexed, one per non-null value. Null when nothing would change, or when the source does not
     * hold the occurrences it should (then it is stored as it is, with its vectors).
     */
    public static BytesReference mask(BytesReference source, MediaType type, Map<String, List<Occurrence>> vectors)
            throws IOException {
        Map<String, Iterator<Occurrence>> next = new HashMap<>();
        vectors.forEach((field, occurrences) -> next.put(field, occurrences.iterator()));
        boolean[] changed = {false};
        boolean[] mismatch = {false};
        Rewrite masking = (parser, generator, field) -> {
            XContentParser.Token token = parser.currentToken();
            if (token == XContentParser.Token.VALUE_NULL) {
                return false;
            }
            Iterator<Occurrence> it = next.get(field);
            if (it.hasNext() == false) {
                mismatch[0] = true;
                return false;
            }
            Occurrence occurrence = it.next();
            if (token == XContentParser.Token.START_ARRAY && occurrence.exact()) {
                generator.writeNumber(occurrence.distance());
                parser.skipChildren();
                changed[0] = true;
                return true;
            }
            return false;
        };
        BytesReference out = rewrite(source, type, vectors.keySet(), masking);
        for (Iterator<Occurrence> it : next.values()) {
            mismatch[0] |= it.hasNext();
        }
        return changed[0] && mismatch[0] == false ? out : null;
    }

    /**
     * The source with every marker of {@code fields} replaced by the vector it points at. Null when the source holds
     * no marker. Throws when a marker points at no vector: the segment is not the one the source was masked for.
     */
    public static BytesReference restore(BytesReference source, Set<String> fields, Vectors vectors)
            throws IOException {
        boolean[] changed = {false};
        Rewrite restoring = (parser, generator, field) -> {
            if (parser.currentToken() != XContentParser.Token.VALUE_NUMBER) {
                return false;
            }
            int distance = parser.intValue();
            float[] vector = vectors.vector(field, distance);
            if (vector == null) {
                throw new IllegalStateException("the stored source marks a vector of field [" + field + "] " + distance
                        + " documents before its own, but the segment holds none there");
            }
            generator.writeStartArray();
            for (float v : vector) {
                generator.writeNumber(v);
            }
            generator.writeEndArray();
            changed[0] = true;
            return true;
        };
        BytesReference out = rewrite(source, MediaTypeRegistry.xContentType(source), fields, restoring);
        return changed[0] ? out : null;
    }

    /** What happens at the value of a vector field: true when it wrote that value itself and consumed it. */
    private interface Rewrite {
        boolean at(XContentParser parser, XContentGenerator generator, String field) throws IOException;
    }

    private static BytesReference rewrite(BytesReference source, MediaType type, Set<String> fields, Rewrite rewrite)
            throws IOException {
        Set<String> ways = new HashSet<>();
        for (String field : fields) {
            for (int dot = field.indexOf('.'); dot > 0; dot = field.indexOf('.', dot + 1)) {
                ways.add(field.substring(0, dot));
            }
        }
        BytesStreamOutput out = new BytesStreamOutput(source.length());
        try (XContentParser parser = type.xContent()
                        .createParser(
                                NamedXContentRegistry.EMPTY,
                                DeprecationHandler.IGNORE_DEPRECATIONS,
                                source.streamInput());
                XContentGenerator generator = type.xContent().createGenerator(out)) {
            if (parser.nextToken() != XContentParser.Token.START_OBJECT) {
                throw new IllegalArgumentException("a document's source must be an object");
            }
            new Walk(parser, generator, fields, ways, rewrite).object("");
        }
        return out.bytes();
    }

    /** One pass over a source: copies it to the generator, handing each value of a vector field to the rewrite. */
    private record Walk(
            XContentParser parser, XContentGenerator generator, Set<String> fields, Set<String> ways, Rewrite rewrite) {
        /** Copies the object the parser is at, whose path is {@code path}. */
        void object(String path) throws IOException {
            generator.writeStartObject();
            for (XContentParser.Token t = parser.nextToken();
                    t != XContentParser.Token.END_OBJECT;
                    t = parser.nextToken()) {
                String name = parser.currentName();
                generator.writeFieldName(name);
                parser.nextToken();
                value(path.isEmpty() ? name : path + "." + name);
            }
            generator.writeEndObject();
        }

        /** Copies the value the parser is at, whose path is {@code path}. */
        void value(String path) throws IOException {
            if (fields.contains(path) && rewrite.at(parser, generator, path)) {
                return;
            }
            XContentParser.Token token = parser.currentToken();
            if (ways.contains(path) && token == XContentParser.Token.START_OBJECT) {
                object(path);
            } else if (ways.contains(path) && token == XContentParser.Token.START_ARRAY) {
                generator.writeStartArray();
                while (parser.nextToken() != XContentParser.Token.END_ARRAY) {
                    value(path);
                }
                generator.writeEndArray();
            } else {
                generator.copyCurrentStructure(parser);
            }
        }
    }
}

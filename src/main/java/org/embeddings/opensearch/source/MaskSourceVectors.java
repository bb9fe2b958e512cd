package org.embeddings.opensearch.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.util.BytesRef;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.index.Index;
import org.opensearch.core.index.shard.ShardId;
import org.opensearch.index.engine.Engine;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.ParsedDocument;
import org.opensearch.index.mapper.SourceFieldMapper;
import org.opensearch.index.shard.IndexingOperationListener;

/**
 * Keeps the vectors of {@code embedding} fields out of the stored {@code _source}: before a document is indexed (on a
 * primary, a replica, or replaying a translog), the {@code _source} stored field of its root document is rewritten
 * with a marker in place of each vector the mapper indexed exactly ({@link VectorMarkers}); a read puts the floats back
 * from the vector files ({@link SourceVectorsCodec}).
 *
 * <p>Only for indices whose codec restores the vectors, which {@code restores} answers (the codec service says so when
 * it wraps an index's codec in {@link SourceVectorsCodec}); any other index keeps its sources whole. The translog
 * keeps the source as sent, so a realtime read from it sees the same floats. A source that does not hold the vectors
 * the mapper indexed, one per value, is stored as it is.
 */
public final class MaskSourceVectors implements IndexingOperationListener {
    private final Predicate<Index> restores;

    public MaskSourceVectors(Predicate<Index> restores) {
        this.restores = restores;
    }

    @Override
    public Engine.Index preIndex(ShardId shardId, Engine.Index operation) {
        ParsedDocument parsed = operation.parsedDoc();
        if (parsed == null || restores.test(shardId.getIndex()) == false) {
            return operation;
        }
        Map<String, List<VectorMarkers.Occurrence>> vectors = occurrences(parsed.docs());
        if (vectors.isEmpty()) {
            return operation;
        }
        IndexableField field = parsed.rootDoc().getField(SourceFieldMapper.NAME);
        if (field instanceof StoredField stored && stored.binaryValue() != null) {
            BytesRef bytes = stored.binaryValue();
            try {
                BytesReference masked = VectorMarkers.mask(
                        new BytesArray(bytes.bytes, bytes.offset, bytes.length), parsed.getMediaType(), vectors);
                if (masked != null) {
                    stored.setBytesValue(masked.toBytesRef());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return operation;
    }

    /**
     * The vectors of a parsed document by field, in the order of its Lucene documents (which is their order in the
     * source), each with its distance before the root document, the last.
     */
    static Map<String, List<VectorMarkers.Occurrence>> occurrences(List<ParseContext.Document> docs) {
        Map<String, List<VectorMarkers.Occurrence>> vectors = new LinkedHashMap<>();
        int root = docs.size() - 1;
        for (int i = 0; i <= root; i++) {
            for (IndexableField f : docs.get(i)) {
                if (f instanceof SourceVectorField vector) {
                    vectors.computeIfAbsent(vector.name(), n -> new ArrayList<>())
                            .add(new VectorMarkers.Occurrence(root - i, vector.exact()));
                }
            }
        }
        return vectors;
    }
}

package org.embeddings.opensearch.highlight;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SortedNumericDocValues;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.BitSet;

/**
 * The passages the {@code embed} processor stored for one document, scored against a query vector, read from the
 * index and not from {@code _source}: a root document's nested documents lie just before it in its segment, so its
 * passages are the documents between the previous root document and it that have a vector in the passage field.
 * Each passage's span ({@code PATH.start}, {@code PATH.end}) and, for pre-chunked input, its element
 * ({@code PATH.element}) come from doc values; its score is the vector field's own similarity, the score a
 * {@code embed_knn} query gives it. No inference runs.
 */
final class StoredPassages {
    private StoredPassages() {}

    /**
     * The fragments of root document {@code doc} of {@code reader} for {@code query}, in passage order; empty when it
     * has no passages in {@code vectorField} (whose nested object is {@code path}). {@code roots} marks the segment's
     * root documents. {@code texts} is the field's text, or its elements for pre-chunked input.
     */
    static List<Fragment> score(
            LeafReader reader,
            int doc,
            BitSet roots,
            String vectorField,
            String path,
            float[] query,
            List<String> texts,
            boolean elements)
            throws IOException {
        FieldInfo info = reader.getFieldInfos().fieldInfo(vectorField);
        FloatVectorValues vectors = reader.getFloatVectorValues(vectorField);
        if (info == null || vectors == null || roots == null || roots.get(doc) == false) {
            return List.of();
        }
        int first = doc == 0 ? 0 : roots.prevSetBit(doc - 1) + 1; // -1 + 1 when no root precedes it
        SortedNumericDocValues starts = DocValues.getSortedNumeric(reader, path + ".start");
        SortedNumericDocValues ends = DocValues.getSortedNumeric(reader, path + ".end");
        SortedNumericDocValues positions = DocValues.getSortedNumeric(reader, path + ".element");
        KnnVectorValues.DocIndexIterator it = vectors.iterator();
        List<Fragment> out = new ArrayList<>();
        for (int child = it.advance(first); child < doc; child = it.nextDoc()) {
            if (child == DocIdSetIterator.NO_MORE_DOCS) {
                break;
            }
            int element = 0;
            if (elements) {
                if (positions.advanceExact(child) == false) {
                    continue;
                }
                element = (int) positions.nextValue();
            }
            if (starts.advanceExact(child) == false || ends.advanceExact(child) == false) {
                continue;
            }
            int start = (int) starts.nextValue();
            int end = (int) ends.nextValue();
            if (element < 0
                    || element >= texts.size()
                    || start < 0
                    || start >= end
                    || end > texts.get(element).length()) {
                continue; // a span that does not index this text: the text changed without its passages
            }
            float score = info.getVectorSimilarityFunction().compare(query, vectors.vectorValue(it.index()));
            out.add(new Fragment(texts.get(element).substring(start, end), score, out.size()));
        }
        return out;
    }
}

package org.embeddings.opensearch.ingest;

import static org.junit.Assert.assertEquals;

import java.util.List;
import org.junit.Test;

/** {@link Slices}: bounded by texts and characters, documents whole, a document past a bound alone, order kept. */
public class SlicesTest {
    /** A document with {@code texts} texts of {@code chars} characters in all. */
    private record Doc(String name, int texts, long chars) {}

    private static List<List<String>> cut(List<Doc> docs, int maxTexts, long maxChars) {
        return Slices.cut(docs, Doc::texts, Doc::chars, maxTexts, maxChars).stream()
                .map(slice -> slice.stream().map(Doc::name).toList())
                .toList();
    }

    @Test
    public void slicesAreBoundedByTextsAndCharacters() {
        List<Doc> docs = List.of(
                new Doc("a", 1, 10),
                new Doc("b", 2, 10),
                new Doc("c", 1, 10),
                new Doc("d", 1, 10),
                new Doc("e", 1, 10));
        assertEquals(List.of(List.of("a", "b"), List.of("c", "d", "e")), cut(docs, 3, 1000));
        assertEquals(List.of(List.of("a", "b"), List.of("c", "d"), List.of("e")), cut(docs, 100, 25));
        assertEquals(List.of(List.of("a", "b", "c", "d", "e")), cut(docs, 100, 1000));
    }

    @Test
    public void aDocumentPastABoundIsASliceOfItsOwn() {
        List<Doc> docs = List.of(new Doc("a", 1, 10), new Doc("huge", 1, 5000), new Doc("b", 1, 10));
        assertEquals(List.of(List.of("a"), List.of("huge"), List.of("b")), cut(docs, 100, 1000));
        List<Doc> many = List.of(new Doc("a", 1, 1), new Doc("wide", 9, 9), new Doc("b", 1, 1));
        assertEquals(List.of(List.of("a"), List.of("wide"), List.of("b")), cut(many, 4, 1000));
        assertEquals(List.of(), cut(List.of(), 4, 1000));
    }

    @Test
    public void aBulkOfOneWordDocumentsIsCutIntoSlicesOfTheDefaultTexts() {
        List<Doc> docs = new java.util.ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            docs.add(new Doc("d" + i, 1, 6));
        }
        List<List<Doc>> slices = Slices.cut(docs, Doc::texts, Doc::chars);
        assertEquals((100_000 + Slices.MAX_TEXTS - 1) / Slices.MAX_TEXTS, slices.size());
        slices.forEach(s -> assertEquals(true, s.size() <= Slices.MAX_TEXTS));
    }
}

package org.embeddings.testkit;

import static org.junit.Assert.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class BeirSetTest {
    @Test
    public void readsTheCorpusInOrderAndOnlyTheJudgedQueries() throws Exception {
        Path dir = Files.createTempDirectory("beir");
        Files.writeString(dir.resolve("corpus.jsonl"), """
            {"_id": "9", "title": " Ice ", "text": "Glaciers flow."}
            {"_id": "3", "title": "", "text": "Bread rises."}
            """);
        Files.writeString(dir.resolve("queries.jsonl"), """
            {"_id": "q2", "text": "what rises"}
            {"_id": "q1", "text": "what flows"}
            {"_id": "q0", "text": "never judged"}
            """);
        Files.createDirectories(dir.resolve("qrels"));
        Files.writeString(dir.resolve("qrels/test.tsv"), "query-id\tcorpus-id\tscore\nq1\t9\t1\nq2\t3\t2 \nq2\t9\t1\n");

        BeirSet set = BeirSet.read(dir);
        assertEquals(
                List.of(new BeirSet.Doc("9", " Ice ", "Glaciers flow."), new BeirSet.Doc("3", "", "Bread rises.")),
                set.corpus());
        // MTEB's document text, unstripped: a title left as the file gives it
        assertEquals(
                List.of(" Ice  Glaciers flow.", " Bread rises."),
                List.copyOf(set.bodies().values()));
        assertEquals(List.of("9", "3"), List.copyOf(set.bodies().keySet()));
        assertEquals(List.of("q2", "q1"), List.copyOf(set.queries().keySet()));
        assertEquals(Map.of("q1", Map.of("9", 1), "q2", Map.of("3", 2, "9", 1)), set.qrels());
    }
}

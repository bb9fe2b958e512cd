package org.embeddings.testkit;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A BEIR retrieval set (SciFact here) as its folder holds it: the corpus of {@code corpus.jsonl} in file order, the
 * graded judgments of {@code qrels/test.tsv} (query id, document id, grade; the header line skipped), and the test
 * queries: those of {@code queries.jsonl} with at least one judgment, in file order. Titles and texts are kept as the
 * file gives them, unstripped.
 */
public record BeirSet(List<Doc> corpus, Map<String, String> queries, Map<String, Map<String, Integer>> qrels) {
    /** One document of the corpus. */
    public record Doc(String id, String title, String text) {
        /** The document as MTEB indexes it: {@code title + " " + text}. */
        public String body() {
            return title + " " + text;
        }
    }

    public static BeirSet read(Path dir) throws IOException {
        List<Doc> corpus = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("corpus.jsonl"))) {
            JsonObject doc = JsonParser.parseString(line).getAsJsonObject();
            corpus.add(new Doc(
                    doc.get("_id").getAsString(),
                    doc.get("title").getAsString(),
                    doc.get("text").getAsString()));
        }
        Map<String, Map<String, Integer>> qrels = new HashMap<>();
        List<String> lines = Files.readAllLines(dir.resolve("qrels/test.tsv"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            qrels.computeIfAbsent(f[0], q -> new HashMap<>()).put(f[1], Integer.parseInt(f[2].trim()));
        }
        Map<String, String> queries = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir.resolve("queries.jsonl"))) {
            JsonObject q = JsonParser.parseString(line).getAsJsonObject();
            if (qrels.containsKey(q.get("_id").getAsString())) {
                queries.put(q.get("_id").getAsString(), q.get("text").getAsString());
            }
        }
        return new BeirSet(corpus, queries, qrels);
    }

    /** Every document's {@link Doc#body}, by id, in corpus order. */
    public Map<String, String> bodies() {
        Map<String, String> bodies = new LinkedHashMap<>();
        corpus.forEach(d -> bodies.put(d.id(), d.body()));
        return bodies;
    }
}

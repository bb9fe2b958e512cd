package org.embeddings.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * A BEIR retrieval set, as documents, queries and graded judgments; and a long-document set built from one.
 *
 * <p>The long-document set: the corpus's abstracts in an order shuffled with a fixed seed, concatenated
 * {@value #PER_DOCUMENT} to a document as a real article lays out sections: each abstract's title on its own line,
 * then its text, sections separated by a blank line. A query's judgment of an abstract carries over to the document
 * that holds it (the highest grade when it holds several judged abstracts). Nothing else marks where one abstract
 * ends; the chunker sees only the text.
 */
public record LongDocs(
        Map<String, String> documents, Map<String, String> queries, Map<String, Map<String, Integer>> qrels) {
    public static final int PER_DOCUMENT = 4;
    public static final long SEED = 15;

    /** The set as BEIR gives it, each document {@code title + " " + text} as MTEB indexes it. */
    public static LongDocs beir(Path data) throws IOException {
        BeirSet set = BeirSet.read(data);
        Map<String, String> documents = new LinkedHashMap<>();
        for (String[] doc : corpus(set)) {
            documents.put(doc[0], doc[1] + " " + doc[2]);
        }
        return new LongDocs(documents, set.queries(), set.qrels());
    }

    /** The title of every document of the BEIR set in {@code data}, by id. */
    public static Map<String, String> titles(Path data) throws IOException {
        Map<String, String> titles = new LinkedHashMap<>();
        for (String[] doc : corpus(BeirSet.read(data))) {
            titles.put(doc[0], doc[1]);
        }
        return titles;
    }

    /** The text of a {@link #beir} document, without the title it starts with. */
    public static String untitled(String document, String title) {
        if (document.startsWith(title + " ") == false) {
            throw new IllegalArgumentException("document does not start with its title [" + title + "]");
        }
        return document.substring(title.length() + 1);
    }

    /**
     * A set by name: {@code longdocs}, {@code longdocs-runon}, {@code longdocs-alt}, {@code longdocs-untitled},
     * {@code longdocs-untitled-runon}, or {@code scifact} (BEIR).
     */
    public static LongDocs named(String name, Path data) throws IOException {
        return switch (name) {
            case "longdocs" -> concatenated(data);
            case "longdocs-runon" -> runOn(data);
            case "longdocs-alt" -> alternative(data);
            case "longdocs-untitled" -> untitled(data, "\n\n");
            case "longdocs-untitled-runon" -> untitled(data, " ");
            case "scifact" -> beir(data);
            default ->
                throw new IllegalArgumentException("unknown set [" + name + "], expected longdocs, longdocs-runon,"
                        + " longdocs-alt, longdocs-untitled, longdocs-untitled-runon or scifact");
        };
    }

    /**
     * A third construction: the abstracts' texts alone, without their titles, {@value #UNTITLED_MIN} to
     * {@value #UNTITLED_MAX} to a document (seed {@value #UNTITLED_SEED}), separated by {@code between}. Without
     * titles a passage loses the words that name its topic, and without blank lines ({@code " "}) only sentence ends
     * mark where one abstract stops: the hardest layout for a chunker.
     */
    public static LongDocs untitled(Path data, String between) throws IOException {
        return concatenated(data, between, null, UNTITLED_SEED, UNTITLED_MIN, UNTITLED_MAX);
    }

    public static final long UNTITLED_SEED = 68;
    public static final int UNTITLED_MIN = 3, UNTITLED_MAX = 8;

    /** The long-document set built from the BEIR set in {@code data}. */
    public static LongDocs concatenated(Path data) throws IOException {
        return concatenated(data, "\n\n", "\n");
    }

    /**
     * The same documents with no paragraph or line breaks: sections and titles run on, separated by a space, as in
     * text extracted without its layout. Measures how the chunker does with sentence ends alone.
     */
    public static LongDocs runOn(Path data) throws IOException {
        return concatenated(data, " ", " ");
    }

    /**
     * A second construction, to check that a chunking choice does not fit the first one only: another seed
     * ({@value #ALTERNATIVE_SEED}), {@value #ALTERNATIVE_MIN} to {@value #ALTERNATIVE_MAX} abstracts to a document
     * (drawn uniformly), each abstract as BEIR joins it ({@code title + " " + text}), abstracts separated by a single
     * line break: no blank lines, no title on a line of its own.
     */
    public static LongDocs alternative(Path data) throws IOException {
        return concatenated(data, "\n", " ", ALTERNATIVE_SEED, ALTERNATIVE_MIN, ALTERNATIVE_MAX);
    }

    public static final long ALTERNATIVE_SEED = 26;
    public static final int ALTERNATIVE_MIN = 3, ALTERNATIVE_MAX = 6;

    private static LongDocs concatenated(Path data, String betweenSections, String afterTitle) throws IOException {
        return concatenated(data, betweenSections, afterTitle, SEED, PER_DOCUMENT, PER_DOCUMENT);
    }

    /** {@code afterTitle} null: no title. */
    private static LongDocs concatenated(
            Path data, String betweenSections, String afterTitle, long seed, int fewest, int most) throws IOException {
        BeirSet set = BeirSet.read(data);
        List<String[]> corpus = new ArrayList<>(corpus(set));
        Random random = new Random(seed);
        Collections.shuffle(corpus, random);
        Map<String, String> documents = new LinkedHashMap<>();
        Map<String, String> holder = new HashMap<>();
        for (int from = 0, count; from < corpus.size(); from += count) {
            count = fewest == most ? fewest : fewest + random.nextInt(most - fewest + 1);
            String id = String.format(Locale.ROOT, "long-%04d", documents.size());
            StringBuilder body = new StringBuilder();
            for (String[] abs : corpus.subList(from, Math.min(corpus.size(), from + count))) {
                body.append(body.isEmpty() ? "" : betweenSections);
                if (afterTitle != null) {
                    body.append(abs[1]).append(afterTitle);
                }
                body.append(abs[2]);
                holder.put(abs[0], id);
            }
            documents.put(id, body.toString());
        }
        Map<String, Map<String, Integer>> qrels = new HashMap<>();
        set.qrels().forEach((query, judged) -> {
            Map<String, Integer> carried = new HashMap<>();
            judged.forEach((abs, grade) -> carried.merge(holder.get(abs), grade, Math::max));
            qrels.put(query, carried);
        });
        // the judged queries are the set's: every judgment carries over to some document
        return new LongDocs(documents, set.queries(), qrels);
    }

    /** {@code {id, title, text}} of every document, in file order, title and text stripped. */
    private static List<String[]> corpus(BeirSet set) {
        return set.corpus().stream()
                .map(d -> new String[] {d.id(), d.title().strip(), d.text().strip()})
                .toList();
    }
}

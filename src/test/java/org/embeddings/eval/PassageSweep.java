package org.embeddings.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSeam;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.ChunkingStrategy;
import org.embeddings.encoder.passages.PassageCutter;
import org.embeddings.encoder.passages.TextWindows;
import org.embeddings.testkit.LongDocs;
import org.embeddings.testkit.Progress;
import org.embeddings.testkit.RetrievalMetrics;

/**
 * Chooses the chunking defaults by measurement, in process (the encoder and exact max-sim, no node): for each
 * configuration {@code max_tokens:overlap_tokens[:sentence_part[:paragraph_part]][:nolines]} (see
 * {@link TextWindows.Ends}; {@code :nolines} ranks a sentence end at a line break as any sentence end) it cuts every
 * document as the {@code embed} processor does,
 * encodes the windows, scores each document by its best passage (exact cosine), and prints nDCG@10 and Recall@100
 * with the number of passages and tokens. {@code whole} is one vector per document, truncated to the model's limit;
 * {@code default} is what {@code "chunking": {}} does (texts within the model's limit whole, longer ones cut).
 * {@code title:CONFIG} (SciFact only) cuts each document's text without its title and puts the title before every
 * passage, as {@code "title_field"} does.
 * Windows whose tokens are identical across configurations are encoded once (their vectors would be identical).
 *
 * <p>Usage: {@code src/scripts/eval.sh sweep MODEL SET CONFIG...} (SET as {@link LongDocs#named} knows it), e.g.
 * {@code eval.sh sweep bge-small-en-v1.5 longdocs whole 256:32 512:64:0.25 sentences:256:1 delimiter:256}
 * (see {@link #chunking} for the configurations of each strategy)
 */
public final class PassageSweep {
    private static final int BULK = 64;

    /** Token ids as a map key. */
    private record Key(long[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(ids, k.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }
    }

    public static void main(String[] args) throws Exception {
        String model = args[0];
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact");
        LongDocs set = LongDocs.named(args[1], data);
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        // -Dsweep.threads: ONNX Runtime intra-op threads, without spinning (a sweep sharing a loaded machine wastes
        // less with one thread per process that sleeps when it waits)
        EncoderSettings settings = Integer.getInteger("sweep.threads") == null
                ? EncoderSettings.defaults()
                : new EncoderSettings(new SessionSettings(Integer.getInteger("sweep.threads"), false, false), 512, 64);
        try (ModelRegistry registry = new ModelRegistry(List.of(models), settings)) {
            Encoder encoder = registry.encoder(model);
            List<String> ids =
                    sample(set, Integer.getInteger("sweep.docs", set.documents().size()));
            List<String> texts = ids.stream().map(set.documents()::get).toList();
            List<String> queryIds = new ArrayList<>(set.queries().keySet());
            float[][] queries =
                    encoder.encode(queryIds.stream().map(set.queries()::get).toList(), Role.QUERY);
            System.out.printf(
                    Locale.ROOT,
                    "%s on %s: %d of %d documents (all judged ones), %d queries%n",
                    model,
                    args[1],
                    ids.size(),
                    set.documents().size(),
                    queryIds.size());
            System.out.printf(
                    Locale.ROOT,
                    "%-16s %8s %11s %9s %13s %14s %9s%n",
                    "config",
                    "nDCG@10",
                    "Recall@100",
                    "passages",
                    "tokens",
                    "new tokens",
                    "seconds");
            Map<Key, float[]> cache = new HashMap<>();
            Map<String, String> titles = args[1].equals("scifact") ? LongDocs.titles(data) : Map.of();
            for (String config : Arrays.asList(args).subList(2, args.length)) {
                long start = System.nanoTime();
                long[] tokens = new long[2];
                List<float[][]> passages = new ArrayList<>(ids.size());
                int count = 0;
                for (int from = 0; from < texts.size(); from += BULK) {
                    List<String> bulk = texts.subList(from, Math.min(texts.size(), from + BULK));
                    if (config.equals("whole")) {
                        for (float[] v : encoder.encode(bulk, Role.PASSAGE)) {
                            passages.add(new float[][] {v});
                        }
                        for (Tokens t : EncoderSeam.tokenize(encoder, bulk, Role.PASSAGE)) {
                            tokens[0] += t.length();
                            tokens[1] += t.length();
                        }
                        count += bulk.size();
                        continue;
                    }
                    // title:CONFIG: the title apart, before every passage, as chunking's title_field does
                    boolean titled = config.startsWith("title:");
                    String windows = titled ? config.substring("title:".length()) : config;
                    List<String> titlesOf = null;
                    if (titled) {
                        titlesOf = new ArrayList<>(bulk.size());
                        List<String> bodies = new ArrayList<>(bulk.size());
                        for (int d = 0; d < bulk.size(); d++) {
                            String title = titles.get(ids.get(from + d));
                            titlesOf.add(title);
                            bodies.add(LongDocs.untitled(bulk.get(d), title));
                        }
                        bulk = bodies;
                    }
                    String[] f = windows.split(":");
                    Chunking chunking = chunking(windows, encoder);
                    // a trailing ":nolines" treats sentence ends at line breaks as sentence ends (the rule before)
                    boolean lines = windows.contains(":nolines") == false;
                    TextWindows.Ends ends =
                            f.length > 2 && Character.isDigit(f[0].charAt(0)) && Character.isDigit(f[2].charAt(0))
                                    ? new TextWindows.Ends(
                                            Float.parseFloat(
                                                    f[f.length > 3 && Character.isDigit(f[3].charAt(0)) ? 3 : 2]),
                                            Float.parseFloat(f[2]),
                                            lines)
                                    : new TextWindows.Ends(0.5f, 0.5f, lines);
                    List<PassageCutter.Cut> cuts = encoder.cutPassages(bulk, titlesOf, Role.PASSAGE, chunking, ends);
                    List<Tokens> missing = new ArrayList<>();
                    for (PassageCutter.Cut cut : cuts) {
                        for (Tokens t : cut.tokens()) {
                            tokens[0] += t.length();
                            if (cache.containsKey(new Key(t.ids())) == false
                                    && cache.put(new Key(t.ids()), null) == null) {
                                missing.add(t);
                            }
                        }
                    }
                    float[][] vectors = EncoderSeam.encodeTokens(encoder, missing.toArray(Tokens[]::new));
                    for (int i = 0; i < vectors.length; i++) {
                        cache.put(new Key(missing.get(i).ids()), vectors[i]);
                        tokens[1] += missing.get(i).length();
                    }
                    for (PassageCutter.Cut cut : cuts) {
                        float[][] own = new float[cut.tokens().length][];
                        for (int w = 0; w < own.length; w++) {
                            own[w] = cache.get(new Key(cut.tokens()[w].ids()));
                        }
                        passages.add(own);
                        count += own.length;
                    }
                    Progress.print(config, Math.min(texts.size(), from + BULK), texts.size(), start);
                }
                System.err.println();
                double ndcg = 0;
                double recall = 0;
                for (int q = 0; q < queryIds.size(); q++) {
                    List<RetrievalMetrics.Hit> run = new ArrayList<>(ids.size());
                    for (int d = 0; d < ids.size(); d++) {
                        double best = Double.NEGATIVE_INFINITY;
                        for (float[] p : passages.get(d)) {
                            best = Math.max(best, RetrievalMetrics.dot(queries[q], p));
                        }
                        run.add(new RetrievalMetrics.Hit(ids.get(d), best));
                    }
                    run = RetrievalMetrics.ordered(run).subList(0, Math.min(1000, run.size()));
                    Map<String, Integer> judged = set.qrels().get(queryIds.get(q));
                    ndcg += RetrievalMetrics.ndcg(run, judged, 10);
                    recall += RetrievalMetrics.recall(run, judged, 100);
                }
                System.out.printf(
                        Locale.ROOT,
                        "%-16s %8.2f %11.2f %9d %13d %14d %9.0f%n",
                        config,
                        100 * ndcg / queryIds.size(),
                        100 * recall / queryIds.size(),
                        count,
                        tokens[0],
                        tokens[1],
                        (System.nanoTime() - start) / 1e9);
            }
        }
    }

    /**
     * The chunking of a configuration: {@code default}; {@code MAX:OVERLAP[...]} (token windows);
     * {@code sentences:MAX:OVERLAP_SENTENCES}; {@code delimiter:MAX} (blank lines); any of them {@code :lead} or
     * {@code :nolead} (windows inside a paragraph read after its lead sentence, or not); the overlap of token windows
     * inside a long sentence or piece is the default's share of the window.
     */
    private static Chunking chunking(String config, Encoder encoder) {
        if (config.endsWith(":lead")) {
            Chunking c = chunking(config.substring(0, config.length() - ":lead".length()), encoder);
            return new Chunking(c.strategy(), c.maxTokens(), c.overlapTokens(), c.wholeTokens(), true);
        }
        if (config.endsWith(":nolead")) {
            Chunking c = chunking(config.substring(0, config.length() - ":nolead".length()), encoder);
            return new Chunking(c.strategy(), c.maxTokens(), c.overlapTokens(), c.wholeTokens(), false);
        }
        String[] f = config.split(":");
        return switch (f[0]) {
            case "default" -> Chunking.defaults(encoder.card());
            case "sentences" ->
                new Chunking(
                        new ChunkingStrategy.BySentences(Integer.parseInt(f[2])),
                        Integer.parseInt(f[1]),
                        Integer.parseInt(f[1]) / 8);
            case "delimiter" ->
                new Chunking(
                        new ChunkingStrategy.ByDelimiter(ChunkingStrategy.ByDelimiter.DEFAULT_DELIMITER),
                        Integer.parseInt(f[1]),
                        Integer.parseInt(f[1]) / 8);
            case "tokens" -> new Chunking(Integer.parseInt(f[1]), Integer.parseInt(f[2]));
            default -> new Chunking(Integer.parseInt(f[0]), Integer.parseInt(f[1]));
        };
    }

    /**
     * Every document judged for a test query, and others drawn with a fixed seed, {@code size} in all: a smaller set
     * on which configurations still compare (a sweep on a loaded 2-core machine), not a score to report.
     */
    static List<String> sample(LongDocs set, int size) {
        List<String> all = new ArrayList<>(set.documents().keySet());
        if (size >= all.size()) {
            return all;
        }
        Set<String> judged = new TreeSet<>();
        set.qrels().values().forEach(j -> judged.addAll(j.keySet()));
        List<String> others = new ArrayList<>(all);
        others.removeAll(judged);
        Collections.shuffle(others, new Random(LongDocs.SEED));
        List<String> out = new ArrayList<>(judged);
        out.addAll(others.subList(0, Math.max(0, Math.min(others.size(), size - judged.size()))));
        return out;
    }
}

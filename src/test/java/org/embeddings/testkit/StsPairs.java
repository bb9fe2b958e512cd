package org.embeddings.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * STSBenchmark's sentence pairs and their score: the Spearman correlation, x 100, between the gold scores and the
 * cosines of each pair's two vectors, as MTEB computes it.
 *
 * <p>The file is read as raw lines split on tabs, with no quoting: column 5 is the gold score and columns 6 and 7
 * the sentences; some rows carry two more columns (their sources), which are ignored. Quote characters are part of
 * the sentences.
 */
public final class StsPairs {
    private StsPairs() {}

    /** Texts per call to the encoder: first sentences of 64 pairs, then their second sentences. */
    private static final int BATCH = 64;

    public record Pair(double gold, String a, String b) {}

    public static List<Pair> read(Path file) throws IOException {
        List<Pair> pairs = new ArrayList<>();
        int line = 0;
        for (String row : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line++;
            if (row.isEmpty()) {
                continue;
            }
            String[] cols = row.split("\t", -1);
            if (cols.length < 7) {
                throw new IllegalArgumentException(
                        file + ":" + line + " has " + cols.length + " columns, expected at least 7");
            }
            pairs.add(new Pair(Double.parseDouble(cols[4]), cols[5], cols[6]));
        }
        return pairs;
    }

    /** Spearman x 100 between gold scores and the cosines of the vectors {@code encode} gives each pair. */
    public static double spearman(Function<List<String>, float[][]> encode, List<Pair> pairs) {
        double[] gold = new double[pairs.size()];
        double[] predicted = new double[pairs.size()];
        for (int from = 0; from < pairs.size(); from += BATCH) {
            List<Pair> chunk = pairs.subList(from, Math.min(pairs.size(), from + BATCH));
            float[][] a = encode.apply(chunk.stream().map(Pair::a).toList());
            float[][] b = encode.apply(chunk.stream().map(Pair::b).toList());
            for (int i = 0; i < chunk.size(); i++) {
                gold[from + i] = chunk.get(i).gold();
                predicted[from + i] = RecipeReference.cosine(a[i], b[i]);
            }
        }
        return 100 * Spearman.correlation(gold, predicted);
    }
}

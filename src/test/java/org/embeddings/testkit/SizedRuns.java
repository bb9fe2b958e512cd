package org.embeddings.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.embeddings.encoder.OnnxModel;
import org.embeddings.encoder.Tokens;

/**
 * Runs of a chosen size whose content does not matter, and the process's resident set: what tests and benches of a
 * run's native memory ({@code RunMemory}) need. A text here is [CLS], one word repeated, [SEP], in BERT ids, which
 * every catalog model these run on reads.
 */
public final class SizedRuns {
    private SizedRuns() {}

    /** A model input of {@code length} tokens: [CLS], one word repeated, [SEP]. */
    public static Tokens oneWord(int length) {
        long[] ids = new long[length];
        Arrays.fill(ids, 2000);
        ids[0] = 101;
        ids[length - 1] = 102;
        return new Tokens(ids, new long[length]);
    }

    /** One run of {@code batch} texts of {@code length} tokens through {@code model}. */
    public static OnnxModel.Output run(OnnxModel model, int batch, int length) {
        Tokens[] texts = new Tokens[batch];
        int[] order = new int[batch];
        for (int i = 0; i < batch; i++) {
            texts[i] = oneWord(length);
            order[i] = i;
        }
        return model.run(texts, order, 0, batch);
    }

    /** This process's resident set ({@code VmRSS}), in bytes. */
    public static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}

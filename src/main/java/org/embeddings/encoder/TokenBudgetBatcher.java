package org.embeddings.encoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts a set of tokenized texts into sub-batches that waste little work on padding: texts are sorted by length,
 * longest first, and a sub-batch grows while its padded size (texts x longest text) stays within the token budget
 * and its count within the batch limit. Because neighbours in the sorted order have nearly equal lengths, padding is
 * close to zero, which is what unpadded BERT engines achieve inside the kernel, here done at the batch level.
 * Callers map results back through {@link Plan#order()} to keep input order.
 */
public record TokenBudgetBatcher(int tokenBudget, int maxBatch) {
    public TokenBudgetBatcher {
        if (tokenBudget < 1 || maxBatch < 1) {
            throw new InvalidInputException("token budget and max batch must be positive");
        }
    }

    /** {@code order} lists input indexes in processing order; sub-batch {@code i} is {@code order[bounds[i]..bounds[i+1])}. */
    public record Plan(int[] order, int[] bounds) {
        public int batches() {
            return bounds.length - 1;
        }
    }

    public Plan plan(Tokens[] tokens) {
        Integer[] boxed = new Integer[tokens.length];
        for (int i = 0; i < boxed.length; i++) {
            boxed[i] = i;
        }
        Arrays.sort(
                boxed,
                Comparator.comparingInt((Integer i) -> tokens[i].length()).reversed());
        int[] order = new int[boxed.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = boxed[i];
        }
        List<Integer> bounds = new ArrayList<>();
        bounds.add(0);
        int start = 0;
        while (start < order.length) {
            int longest = tokens[order[start]].length();
            int end = start + 1;
            // Sorted longest first, so the first text of a sub-batch fixes its padded width.
            while (end < order.length && end - start < maxBatch && (long) (end - start + 1) * longest <= tokenBudget) {
                end++;
            }
            bounds.add(end);
            start = end;
        }
        return new Plan(order, bounds.stream().mapToInt(Integer::intValue).toArray());
    }
}

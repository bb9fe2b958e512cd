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
 *
 * <p>While queries arrive, document work yields to them sooner: a planned sub-batch then runs in {@link #slice
 * slices} of at most {@code queryTokenBudget} padded tokens, so a query waits for one slice, not one sub-batch. Large
 * sub-batches run faster per token; small ones keep a query's wait short; the two budgets give each when it counts.
 */
public record TokenBudgetBatcher(int tokenBudget, int maxBatch, int queryTokenBudget) {
    public TokenBudgetBatcher {
        if (tokenBudget < 1 || maxBatch < 1 || queryTokenBudget < 1) {
            throw new InvalidInputException("token budgets and max batch must be positive");
        }
    }

    /** A batcher whose sub-batches never run in slices. */
    public TokenBudgetBatcher(int tokenBudget, int maxBatch) {
        this(tokenBudget, maxBatch, tokenBudget);
    }

    /**
     * The end of the slice of sub-batch rows {@code [from, to)} of {@code plan} that starts at {@code from}: as many
     * rows as fit {@code queryTokenBudget} at the padded width of the first (the longest), one at least.
     */
    public int slice(Tokens[] tokens, Plan plan, int from, int to) {
        int longest = tokens[plan.order()[from]].length();
        return (int) Math.min(to, from + Math.max(1L, queryTokenBudget / Math.max(1, longest)));
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

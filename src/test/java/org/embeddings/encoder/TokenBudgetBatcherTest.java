package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

public class TokenBudgetBatcherTest {
    private static Tokens[] ofLengths(int... lengths) {
        Tokens[] tokens = new Tokens[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            tokens[i] = new Tokens(new long[lengths[i]], new long[lengths[i]]);
        }
        return tokens;
    }

    /** Checks every property a plan promises, for any input. */
    private static void checkPlan(TokenBudgetBatcher batcher, Tokens[] tokens) {
        TokenBudgetBatcher.Plan plan = batcher.plan(tokens);
        int[] order = plan.order();
        int[] bounds = plan.bounds();

        assertEquals(tokens.length, order.length);
        int[] seen = new int[tokens.length];
        for (int index : order) {
            seen[index]++;
        }
        for (int i = 0; i < seen.length; i++) {
            assertEquals("index " + i + " appears once", 1, seen[i]);
        }

        for (int i = 1; i < order.length; i++) {
            assertTrue("sorted longest first at " + i, tokens[order[i - 1]].length() >= tokens[order[i]].length());
        }

        assertEquals(0, bounds[0]);
        assertEquals(tokens.length, bounds[bounds.length - 1]);
        for (int b = 0; b < plan.batches(); b++) {
            int from = bounds[b];
            int to = bounds[b + 1];
            assertTrue("batch " + b + " is not empty", to > from);
            assertTrue("batch " + b + " within max batch", to - from <= batcher.maxBatch());
            int longest = 0;
            for (int i = from; i < to; i++) {
                longest = Math.max(longest, tokens[order[i]].length());
            }
            long padded = (long) (to - from) * longest;
            assertTrue(
                    "batch " + b + " pads to " + padded + " tokens, over the budget " + batcher.tokenBudget(),
                    padded <= batcher.tokenBudget() || to - from == 1);
        }

        // What callers do with a plan: results written through the order land at their input positions.
        int[] restored = new int[tokens.length];
        for (int b = 0; b < plan.batches(); b++) {
            for (int i = bounds[b]; i < bounds[b + 1]; i++) {
                restored[order[i]] = tokens[order[i]].length();
            }
        }
        for (int i = 0; i < tokens.length; i++) {
            assertEquals(tokens[i].length(), restored[i]);
        }
    }

    @Test
    public void randomInputsKeepEveryPromise() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            int n = random.nextInt(60);
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + random.nextInt(random.nextBoolean() ? 20 : 600);
            }
            TokenBudgetBatcher batcher = new TokenBudgetBatcher(1 + random.nextInt(2000), 1 + random.nextInt(16));
            checkPlan(batcher, ofLengths(lengths));
        }
    }

    @Test
    public void cutsByPaddedSizeAndSortsByLength() {
        TokenBudgetBatcher batcher = new TokenBudgetBatcher(20, 64);
        TokenBudgetBatcher.Plan plan = batcher.plan(ofLengths(3, 10, 4, 9, 2));
        assertArrayEquals(new int[] {1, 3, 2, 0, 4}, plan.order());
        // 10+9 fill the budget (2 x 10); 4, 3, 2 pad to 4 x 3 = 12.
        assertArrayEquals(new int[] {0, 2, 5}, plan.bounds());
        checkPlan(batcher, ofLengths(3, 10, 4, 9, 2));
    }

    @Test
    public void aTextLongerThanTheBudgetRunsAlone() {
        TokenBudgetBatcher.Plan plan = new TokenBudgetBatcher(8, 64).plan(ofLengths(2, 30, 2));
        assertArrayEquals(new int[] {1, 0, 2}, plan.order());
        assertArrayEquals(new int[] {0, 1, 3}, plan.bounds());
    }

    @Test
    public void respectsTheBatchLimitAndKeepsInputOrderAmongEqualLengths() {
        TokenBudgetBatcher.Plan plan = new TokenBudgetBatcher(1000, 2).plan(ofLengths(5, 5, 5, 5, 5));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, plan.order());
        assertArrayEquals(new int[] {0, 2, 4, 5}, plan.bounds());
    }

    @Test
    public void querySlicesCoverASubBatchInOrderWithinTheQueryBudget() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            int n = 1 + random.nextInt(60);
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + random.nextInt(random.nextBoolean() ? 20 : 600);
            }
            Tokens[] tokens = ofLengths(lengths);
            TokenBudgetBatcher batcher =
                    new TokenBudgetBatcher(1 + random.nextInt(2000), 1 + random.nextInt(64), 1 + random.nextInt(300));
            TokenBudgetBatcher.Plan plan = batcher.plan(tokens);
            for (int b = 0; b < plan.batches(); b++) {
                int to = plan.bounds()[b + 1];
                for (int from = plan.bounds()[b]; from < to; ) {
                    int end = batcher.slice(tokens, plan, from, to);
                    assertTrue("a slice holds a row at least and stays in its sub-batch", end > from && end <= to);
                    long padded = (long) (end - from) * tokens[plan.order()[from]].length();
                    assertTrue(
                            padded + " padded tokens over " + batcher.queryTokenBudget(),
                            padded <= batcher.queryTokenBudget() || end - from == 1);
                    assertTrue(
                            "a slice takes every row that fits",
                            end == to
                                    || (long) (end - from + 1) * tokens[plan.order()[from]].length()
                                            > batcher.queryTokenBudget());
                    from = end;
                }
            }
        }
    }

    @Test
    public void noTextsMeanNoBatches() {
        TokenBudgetBatcher.Plan plan = new TokenBudgetBatcher(10, 2).plan(new Tokens[0]);
        assertEquals(0, plan.batches());
    }
}

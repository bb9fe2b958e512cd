package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

/**
 * Each pooling strategy on a hand-written batch of hidden states: two rows of three positions, two dims, the first
 * row padded on the right and the second on the left. Padding positions hold 100s, so a strategy that reads one
 * shows it at once.
 */
public class PoolingTest {
    private static final int SEQ = 3;
    private static final int DIM = 2;
    private static final float PAD = 100f;
    // row 0: (1, 2) (3, -4) [pad]     row 1: [pad] (5, 6) (7, -8)
    private static final float[] HIDDEN = {1, 2, 3, -4, PAD, PAD, PAD, PAD, 5, 6, 7, -8};
    private static final long[] MASK = {1, 1, 0, 0, 1, 1};
    private static final float EPS = 1e-6f;

    private static float[] pool(Pooling pooling, int row) {
        return pooling.pool(HIDDEN, MASK, row, SEQ, DIM);
    }

    @Test
    public void clsTakesTheFirstRealPosition() {
        assertArrayEquals(new float[] {1, 2}, pool(Pooling.CLS, 0), EPS);
        assertArrayEquals(new float[] {5, 6}, pool(Pooling.CLS, 1), EPS);
    }

    @Test
    public void meanAveragesRealTokensOnly() {
        assertArrayEquals(new float[] {2, -1}, pool(Pooling.MEAN, 0), EPS);
        assertArrayEquals(new float[] {6, -1}, pool(Pooling.MEAN, 1), EPS);
    }

    @Test
    public void lastTokenPicksTheLastRealTokenUnderRightAndLeftPadding() {
        assertArrayEquals("right padding", new float[] {3, -4}, pool(Pooling.LAST_TOKEN, 0), EPS);
        assertArrayEquals("left padding", new float[] {7, -8}, pool(Pooling.LAST_TOKEN, 1), EPS);
    }

    @Test
    public void maxTakesTheElementWiseMaximumOfRealTokens() {
        assertArrayEquals(new float[] {3, 2}, pool(Pooling.MAX, 0), EPS);
        assertArrayEquals(new float[] {7, 6}, pool(Pooling.MAX, 1), EPS);
    }

    @Test
    public void maxOfNegativeStatesIsNotZero() {
        float[] hidden = {-3, -1, -2, -5};
        assertArrayEquals(new float[] {-2, -1}, Pooling.MAX.pool(hidden, new long[] {1, 1}, 0, 2, 2), EPS);
    }

    @Test
    public void meanSqrtLenDividesTheSumByTheRootOfTheCount() {
        float r = (float) Math.sqrt(2);
        assertArrayEquals(new float[] {4 / r, -2 / r}, pool(Pooling.MEAN_SQRT_LEN, 0), EPS);
        assertArrayEquals(new float[] {12 / r, -2 / r}, pool(Pooling.MEAN_SQRT_LEN, 1), EPS);
    }

    @Test
    public void noneTakesAnAlreadyPooledRowAsItIs() {
        float[] pooled = {1, 2, 3, 4, 5, 6}; // [batch 3, dim 2]
        assertArrayEquals(new float[] {3, 4}, Pooling.NONE.pool(pooled, new long[0], 1, 0, 2), EPS);
        assertArrayEquals(new float[] {5, 6}, Pooling.NONE.pool(pooled, new long[0], 2, 0, 2), EPS);
        assertEquals(2, Pooling.NONE.outputRank());
        assertEquals(3, Pooling.MEAN.outputRank());
    }

    @Test
    public void clsAndMeanDifferOnTheSameInput() {
        assertFalse(Arrays.equals(pool(Pooling.CLS, 0), pool(Pooling.MEAN, 0)));
    }

    @Test
    public void aRowWithoutRealTokensFails() {
        long[] empty = {0, 0, 0, 1, 1, 1};
        for (Pooling p :
                new Pooling[] {Pooling.CLS, Pooling.MEAN, Pooling.MAX, Pooling.MEAN_SQRT_LEN, Pooling.LAST_TOKEN}) {
            assertThrows(p.label(), IllegalStateException.class, () -> p.pool(HIDDEN, empty, 0, SEQ, DIM));
        }
    }

    @Test
    public void parsesLabels() {
        for (Pooling p : Pooling.values()) {
            assertEquals(p, Pooling.of(p.label()));
        }
        assertEquals(Pooling.LAST_TOKEN, Pooling.of(" Last-Token "));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Pooling.of("weighted_mean"));
        assertTrue(e.getMessage(), e.getMessage().contains("weighted_mean"));
    }

    @Test
    public void l2NormalizeGivesUnitLength() {
        float[] v = Vectors.l2Normalize(new float[] {3, -4, 12});
        assertArrayEquals(new float[] {3 / 13f, -4 / 13f, 12 / 13f}, v, EPS);
        double norm = 0;
        for (float x : v) {
            norm += x * x;
        }
        assertEquals(1.0, norm, 1e-6);
        assertArrayEquals("a zero vector stays zero", new float[] {0, 0}, Vectors.l2Normalize(new float[] {0, 0}), 0f);
    }
}

package org.embeddings.testkit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class SpearmanTest {
    @Test
    public void tiesShareTheAverageOfTheirRanks() {
        assertArrayEquals(new double[] {2.5, 1, 2.5, 4}, Spearman.ranks(new double[] {5, 1, 5, 9}), 0);
        assertArrayEquals(new double[] {2, 2, 2}, Spearman.ranks(new double[] {7, 7, 7}), 0);
    }

    @Test
    public void monotoneIsOneAndReversedIsMinusOne() {
        double[] x = {1, 2, 3, 4, 5};
        assertEquals(1.0, Spearman.correlation(x, new double[] {1, 8, 27, 64, 125}), 1e-12);
        assertEquals(-1.0, Spearman.correlation(x, new double[] {5, 4, 3, 2, 1}), 1e-12);
    }

    @Test
    public void matchesScipyOnASampleWithTies() {
        // Ranks [1, 2.5, 2.5, 4, 5, 6] and [2, 1, 3.5, 3.5, 6, 5]; their Pearson correlation is 55/68.
        double rho = Spearman.correlation(new double[] {1, 2, 2, 3, 4, 5}, new double[] {2, 1, 4, 4, 6, 5});
        assertEquals(55.0 / 68.0, rho, 1e-12);
    }
}

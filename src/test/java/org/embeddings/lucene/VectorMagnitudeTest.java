package org.embeddings.lucene;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import org.apache.lucene.index.VectorSimilarityFunction;
import org.junit.Test;

/**
 * {@link VectorMagnitude} refuses exactly the vectors that Lucene's own similarity functions score wrongly: each
 * refused vector is shown to get a non-finite or wrong score from Lucene (with assertions on, as here, Lucene's own
 * assertion that a score is finite fails instead), and each accepted one near the edges a right one.
 */
public class VectorMagnitudeTest {
    private static final VectorSimilarityFunction COSINE = VectorSimilarityFunction.COSINE;
    private static final VectorSimilarityFunction DOT = VectorSimilarityFunction.DOT_PRODUCT;
    private static final VectorSimilarityFunction L2 = VectorSimilarityFunction.EUCLIDEAN;

    /** Lucene's score, or NaN where Lucene's own checks (assertions, in tests) find it not finite. */
    private static float score(VectorSimilarityFunction similarity, float[] a, float[] b) {
        try {
            return similarity.compare(a, b);
        } catch (AssertionError | IllegalArgumentException e) {
            return Float.NaN;
        }
    }

    @Test
    public void overflowingMagnitudesAreRefusedUnderEverySimilarity() {
        float[] huge = {1e20f, 1e20f, 1e20f};
        for (VectorSimilarityFunction similarity : VectorSimilarityFunction.values()) {
            if (similarity != VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT) {
                String problem = VectorMagnitude.problem(huge, similarity);
                assertNotNull(similarity.toString(), problem);
                assertTrue(problem, problem.contains("overflows"));
            }
        }
        // what Lucene makes of it: a vector is not its own nearest neighbour under cosine (0.5, not 1)
        assertFalse(score(COSINE, huge, huge) == 1f);
        assertFalse(Float.isFinite(score(DOT, huge, huge)));
    }

    @Test
    public void cosineRefusesMagnitudesThatUnderflowToZero() {
        float[] tiny = {1e-30f, 0f, 0f};
        assertTrue(VectorMagnitude.problem(tiny, COSINE).contains("underflows"));
        assertFalse(Float.isFinite(score(COSINE, tiny, new float[] {1f, 0f, 0f})));
        assertTrue(VectorMagnitude.problem(new float[3], COSINE).contains("all zeros"));
        // dot product and distance score such vectors finitely
        assertNull(VectorMagnitude.problem(tiny, DOT));
        assertNull(VectorMagnitude.problem(tiny, L2));
        assertNull(VectorMagnitude.problem(new float[3], L2));
        assertTrue(Float.isFinite(score(DOT, tiny, new float[] {1f, 0f, 0f})));
        assertTrue(Float.isFinite(score(L2, tiny, new float[] {1f, 0f, 0f})));
    }

    @Test
    public void vectorsNearTheEdgesAreAcceptedAndScoredRight() {
        float[] large = {1e18f, 0f, 0f};
        float[] small = {1e-15f, 1e-15f, 0f};
        float[] unit = {1f, 0f, 0f};
        assertNull(VectorMagnitude.problem(large, COSINE));
        assertNull(VectorMagnitude.problem(small, COSINE));
        assertNull(VectorMagnitude.problem(unit, DOT));
        assertEquals(1f, score(COSINE, large, unit), 1e-6f);
        assertEquals(1f, score(COSINE, small, small), 1e-6f);
        assertEquals((1 + Math.sqrt(0.5)) / 2, score(COSINE, small, unit), 1e-6f);
    }
}

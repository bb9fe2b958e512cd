package org.embeddings.lucene;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;

/**
 * Combines ranked windows, one per sub-query, into one ranking. Every document found in any window gets the sum,
 * over windows, of its weighted contribution there; documents are returned by fused score, ties by doc id.
 */
public sealed interface ScoreFusion {

    /** The contributions of the documents of one window, given their scores in the window's (ranked) order. */
    float[] contributions(float[] windowScores);

    /**
     * Reciprocal rank fusion (Cormack et al., 2009): a document at 1-based rank r of a window contributes
     * 1 / (rankConstant + r); scores themselves are ignored, so sub-queries on unrelated scales combine safely. The
     * rank constant is at most {@value #MAX_RANK_CONSTANT} (past it every contribution is about the same, and the
     * ranking is that of the number of windows a document is in), and the denominator is summed in floating point,
     * so no rank constant and window overflow it.
     */
    record Rrf(int rankConstant) implements ScoreFusion {
        public static final int MAX_RANK_CONSTANT = 10_000;

        public Rrf {
            if (rankConstant < 1 || rankConstant > MAX_RANK_CONSTANT) {
                throw new IllegalArgumentException(
                        "[rank_constant] must be within [1, " + MAX_RANK_CONSTANT + "], got [" + rankConstant + "]");
            }
        }

        @Override
        public float[] contributions(float[] windowScores) {
            float[] out = new float[windowScores.length];
            for (int i = 0; i < windowScores.length; i++) {
                out[i] = (float) (1.0 / ((double) rankConstant + i + 1));
            }
            return out;
        }
    }

    /** Weighted sum of scores normalized per window by {@link Normalization}. */
    record Linear(Normalization normalization) implements ScoreFusion {
        @Override
        public float[] contributions(float[] windowScores) {
            return normalization.apply(windowScores);
        }
    }

    /**
     * Fuses ranked windows of keys (one list per sub-query, best first, with their scores), weighting window i by
     * {@code weights[i]}: each key's fused score is the weighted sum of its contributions.
     */
    static <K> Map<K, Float> fuse(ScoreFusion fusion, List<List<K>> keys, List<float[]> scores, float[] weights) {
        Map<K, Float> fused = new HashMap<>();
        for (int w = 0; w < keys.size(); w++) {
            float[] contribution = fusion.contributions(scores.get(w));
            for (int i = 0; i < contribution.length; i++) {
                fused.merge(keys.get(w).get(i), weights[w] * contribution[i], Float::sum);
            }
        }
        return fused;
    }

    /** {@link #fuse(ScoreFusion, List, List, float[])} over doc ids of one reader, best first, ties by doc id. */
    static ScoreDoc[] fuse(ScoreFusion fusion, TopDocs[] windows, float[] weights) {
        List<List<Integer>> keys = new ArrayList<>();
        List<float[]> scores = new ArrayList<>();
        for (TopDocs window : windows) {
            List<Integer> docs = new ArrayList<>();
            float[] s = new float[window.scoreDocs.length];
            for (int i = 0; i < s.length; i++) {
                docs.add(window.scoreDocs[i].doc);
                s[i] = window.scoreDocs[i].score;
            }
            keys.add(docs);
            scores.add(s);
        }
        Map<Integer, Float> fused = fuse(fusion, keys, scores, weights);
        ScoreDoc[] out = new ScoreDoc[fused.size()];
        int i = 0;
        for (Map.Entry<Integer, Float> e : fused.entrySet()) {
            out[i++] = new ScoreDoc(e.getKey(), e.getValue());
        }
        Arrays.sort(
                out, (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.doc, b.doc));
        return out;
    }
}

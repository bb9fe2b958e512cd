package org.embeddings.lucene;

import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Combines ranked windows, one per sub-query, into one ranking. Every document found in any window gets the sum,
 * over windows, of its weighted contribution there; documents are returned by fused score, ties by doc id.
 */
public sealed interface ScoreFusion {

    /** The contributions of the documents of one window, in the window's order. */
    float[] contributions(ScoreDoc[] window);

    /**
     * Reciprocal rank fusion (Cormack et al., 2009): a document at 1-based rank r of a window contributes
     * 1 / (rankConstant + r); scores themselves are ignored, so sub-queries on unrelated scales combine safely.
     */
    record Rrf(int rankConstant) implements ScoreFusion {
        public Rrf {
            if (rankConstant < 1) {
                throw new IllegalArgumentException("[rank_constant] must be at least 1, got [" + rankConstant + "]");
            }
        }

        @Override
        public float[] contributions(ScoreDoc[] window) {
            float[] out = new float[window.length];
            for (int i = 0; i < window.length; i++) {
                out[i] = 1f / (rankConstant + i + 1);
            }
            return out;
        }
    }

    /** Weighted sum of scores normalized per window by {@link Normalization}. */
    record Linear(Normalization normalization) implements ScoreFusion {
        @Override
        public float[] contributions(ScoreDoc[] window) {
            float[] raw = new float[window.length];
            for (int i = 0; i < window.length; i++) {
                raw[i] = window[i].score;
            }
            return normalization.apply(raw);
        }
    }

    /**
     * Fuses {@code windows} (doc ids in one reader's id space), weighting window i by {@code weights[i]}; the result is
     * sorted by descending fused score, then ascending doc id.
     */
    static ScoreDoc[] fuse(ScoreFusion fusion, TopDocs[] windows, float[] weights) {
        Map<Integer, float[]> fused = new HashMap<>();
        for (int w = 0; w < windows.length; w++) {
            ScoreDoc[] window = windows[w].scoreDocs;
            float[] contribution = fusion.contributions(window);
            for (int i = 0; i < window.length; i++) {
                fused.computeIfAbsent(window[i].doc, d -> new float[1])[0] += weights[w] * contribution[i];
            }
        }
        ScoreDoc[] out = new ScoreDoc[fused.size()];
        int i = 0;
        for (Map.Entry<Integer, float[]> e : fused.entrySet()) {
            out[i++] = new ScoreDoc(e.getKey(), e.getValue()[0]);
        }
        Arrays.sort(out, (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.doc, b.doc));
        return out;
    }
}

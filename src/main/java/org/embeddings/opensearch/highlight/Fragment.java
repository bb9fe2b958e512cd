package org.embeddings.opensearch.highlight;

import java.util.Comparator;

/** A highlight fragment: a span of the field's text (of one element of an array), with its score for the query. */
record Fragment(String text, float score, int position) {
    /** Best first; equal scores in text order. */
    static final Comparator<Fragment> BEST_FIRST =
            Comparator.comparingDouble((Fragment f) -> -f.score()).thenComparingInt(Fragment::position);
}

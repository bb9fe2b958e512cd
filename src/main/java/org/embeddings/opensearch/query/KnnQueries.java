package org.embeddings.opensearch.query;

import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.join.BitSetProducer;
import org.embeddings.lucene.EmbeddingKnnQuery;
import org.embeddings.lucene.FloatRescoreQuery;
import org.embeddings.lucene.NestedEmbeddingKnnQuery;
import org.embeddings.lucene.Quantization;

/**
 * The Lucene query of {@code embed_knn} on one shard, by the field's quantization; the one road every
 * {@code embed_knn} takes, over top-level documents or, with {@code parents}, over passages diversified by parent
 * (k counts parents, each by its best passage).
 *
 * <ul>
 *   <li>float32 vectors: {@link EmbeddingKnnQuery} (or {@link NestedEmbeddingKnnQuery}) as asked
 *       ({@code oversample} has nothing to rescore);
 *   <li>quantized vectors: {@code k x oversample} candidates from the quantized search, rescored with the float32
 *       vectors by {@link FloatRescoreQuery}, the best {@code k} kept and {@code min_score} applied to the float32
 *       scores; {@code oversample} 0 returns the quantized search's own hits and scores. Over passages the
 *       candidates are each candidate parent's best passage by the quantized score, rescored;
 *   <li>quantized vectors with {@code exact}: every document (every passage) the filter accepts scored with the
 *       float32 vectors, so that exact search stays the float32 ground truth whatever the format.
 * </ul>
 */
final class KnnQueries {
    private KnnQueries() {}

    /**
     * @param filter the filter on the searched documents (for passages: on the passages, a parent filter already
     *     joined down to them), or null
     * @param parents the parent documents when {@code field} holds passages in a block join, else null
     */
    static Query of(
            Quantization quantization,
            String field,
            float[] vector,
            KnnOptions options,
            Query filter,
            BitSetProducer parents) {
        if (quantization.quantized() == false) {
            return knn(
                    field,
                    vector,
                    options.k(),
                    options.numCandidates(),
                    filter,
                    options.minScore(),
                    options.exact(),
                    parents);
        }
        if (options.exact()) {
            Query all = filter == null
                    ? new FieldExistsQuery(field)
                    : new BooleanQuery.Builder()
                            .add(filter, BooleanClause.Occur.FILTER)
                            .add(new FieldExistsQuery(field), BooleanClause.Occur.FILTER)
                            .build();
            return new FloatRescoreQuery(all, field, vector, options.k(), options.minScore(), parents);
        }
        float oversample = options.oversample() != null ? options.oversample() : quantization.defaultOversample();
        if (oversample == 0f) {
            return knn(field, vector, options.k(), options.numCandidates(), filter, options.minScore(), false, parents);
        }
        int candidates = KnnOptions.rescoreCandidates(options.k(), oversample);
        Query quantized = knn(
                field,
                vector,
                candidates,
                Math.max(candidates, options.numCandidates()),
                filter,
                Float.NEGATIVE_INFINITY,
                false,
                parents);
        return new FloatRescoreQuery(quantized, field, vector, options.k(), options.minScore(), parents);
    }

    private static Query knn(
            String field,
            float[] vector,
            int k,
            int numCandidates,
            Query filter,
            float minScore,
            boolean exact,
            BitSetProducer parents) {
        return parents == null
                ? new EmbeddingKnnQuery(field, vector, k, numCandidates, filter, minScore, exact)
                : new NestedEmbeddingKnnQuery(field, vector, k, numCandidates, filter, parents, minScore, exact);
    }
}

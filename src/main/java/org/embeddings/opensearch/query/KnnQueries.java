package org.embeddings.opensearch.query;

import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.embeddings.lucene.EmbeddingKnnQuery;
import org.embeddings.lucene.FloatRescoreQuery;
import org.embeddings.lucene.Quantization;

/**
 * The Lucene query of {@code embed_knn} on one shard, by the field's quantization.
 *
 * <ul>
 *   <li>float32 vectors: {@link EmbeddingKnnQuery} as asked ({@code oversample} has nothing to rescore);
 *   <li>quantized vectors: {@code k x oversample} candidates from the quantized search, rescored with the float32
 *       vectors by {@link FloatRescoreQuery}, the best {@code k} kept and {@code min_score} applied to the float32
 *       scores; {@code oversample} 0 returns the quantized search's own hits and scores;
 *   <li>quantized vectors with {@code exact}: every document the filter accepts scored with the float32 vectors,
 *       so that exact search stays the float32 ground truth whatever the format.
 * </ul>
 */
final class KnnQueries {
    private KnnQueries() {}

    static Query of(Quantization quantization, String field, float[] vector, KnnOptions options, Query filter) {
        if (quantization.quantized() == false) {
            return new EmbeddingKnnQuery(
                    field, vector, options.k(), options.numCandidates(), filter, options.minScore(), options.exact());
        }
        if (options.exact()) {
            Query all = filter == null
                    ? new FieldExistsQuery(field)
                    : new BooleanQuery.Builder()
                            .add(filter, BooleanClause.Occur.FILTER)
                            .add(new FieldExistsQuery(field), BooleanClause.Occur.FILTER)
                            .build();
            return new FloatRescoreQuery(all, field, vector, options.k(), options.minScore());
        }
        float oversample = options.oversample() != null ? options.oversample() : quantization.defaultOversample();
        if (oversample == 0f) {
            return new EmbeddingKnnQuery(
                    field, vector, options.k(), options.numCandidates(), filter, options.minScore(), false);
        }
        int candidates = KnnOptions.rescoreCandidates(options.k(), oversample);
        Query quantized = new EmbeddingKnnQuery(
                field,
                vector,
                candidates,
                Math.max(candidates, options.numCandidates()),
                filter,
                Float.NEGATIVE_INFINITY,
                false);
        return new FloatRescoreQuery(quantized, field, vector, options.k(), options.minScore());
    }
}

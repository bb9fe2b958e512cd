package org.embeddings.opensearch.query;

import java.io.IOException;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.ToChildBlockJoinQuery;
import org.embeddings.lucene.NestedEmbeddingKnnQuery;
import org.embeddings.lucene.Quantization;
import org.opensearch.common.lucene.search.Queries;
import org.opensearch.index.mapper.ObjectMapper;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.index.query.QueryShardException;

/**
 * {@code embed_knn} on a field inside a {@code nested} object (passages): inside a {@code nested} query on that
 * path, a kNN search over the nested documents diversified by parent ({@link NestedEmbeddingKnnQuery}, as the k-NN
 * plugin builds it; through {@link KnnQueries}, as every {@code embed_knn} is, so a quantized field's
 * {@code oversample} and float32 {@code exact} apply to passages too), so that {@code k} means k parent documents,
 * each represented by its best passage; the
 * {@code nested} query's {@code score_mode} then scores the parent (with one passage per parent, every mode gives
 * that passage's score). Outside such a query the field is refused, naming the path to search it under.
 *
 * <p>{@code filter} selects parent documents: it is built one level up (the nested query's parent scope, the root
 * document for a top-level {@code nested} path), restricted to parent documents, and joined down to their passages
 * with a {@link ToChildBlockJoinQuery}, so that the search considers exactly the passages of the documents it accepts.
 * A condition on the passages themselves goes in a {@code nested} query inside the filter, which selects the
 * documents that have such a passage.
 */
final class NestedKnn {
    private NestedKnn() {}

    /** The nested object that holds {@code field} most closely, or null when no enclosing object is nested. */
    static ObjectMapper enclosingNested(QueryShardContext context, String field) {
        for (int dot = field.lastIndexOf('.'); dot > 0; dot = field.lastIndexOf('.', dot - 1)) {
            ObjectMapper mapper = context.getObjectMapper(field.substring(0, dot));
            if (mapper != null && mapper.nested().isNested()) {
                return mapper;
            }
        }
        return null;
    }

    static Query build(
            QueryShardContext context,
            ObjectMapper nested,
            String field,
            float[] vector,
            KnnOptions options,
            QueryBuilder filter,
            Quantization quantization)
            throws IOException {
        ObjectMapper scope = context.nestedScope().getObjectMapper();
        BitSetProducer parents = context.getParentFilter();
        if (parents == null || scope == null || scope.fullPath().equals(nested.fullPath()) == false) {
            throw new QueryShardException(
                    context,
                    "[" + EmbedKnnQueryBuilder.NAME + "] field [" + field + "] lies inside nested object ["
                            + nested.fullPath() + "]; search it inside a [nested] query with [path] ["
                            + nested.fullPath() + "]");
        }
        Query childFilter = filter == null ? null : parentFilterOnChildren(context, filter, parents);
        return KnnQueries.of(quantization, field, vector, options, childFilter, parents);
    }

    /** {@code filter} built in the parent scope, on parent documents only, joined down to their children. */
    private static Query parentFilterOnChildren(QueryShardContext context, QueryBuilder filter, BitSetProducer parents)
            throws IOException {
        ObjectMapper child = context.nestedScope().previousLevel();
        Query onParents;
        try {
            ObjectMapper parentScope = context.nestedScope().getObjectMapper();
            Query parentDocs = parentScope == null ? Queries.newNonNestedFilter() : parentScope.nestedTypeFilter();
            onParents = new BooleanQuery.Builder()
                    .add(filter.toQuery(context), BooleanClause.Occur.FILTER)
                    .add(parentDocs, BooleanClause.Occur.FILTER)
                    .build();
        } finally {
            context.nestedScope().nextLevel(child);
        }
        return new ToChildBlockJoinQuery(onParents, parents);
    }
}

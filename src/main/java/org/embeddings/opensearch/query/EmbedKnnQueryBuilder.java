package org.embeddings.opensearch.query;

import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.embeddings.encoder.Role;
import org.embeddings.opensearch.InferenceService;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper.EmbeddingFieldType;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.index.query.QueryShardException;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code embed_knn}: nearest neighbours of a query text in an {@code embedding} field.
 *
 * <p>Life of a query: parsed with its text ({@link EmbedKnnQueryParser}); rewritten on the coordinating node, where
 * the text is encoded with the query role by an async action on the plugin's thread pool (never on a search or
 * transport thread) that fills a {@link SetOnce}; the next rewrite round swaps in the vector; shards receive the
 * vector, never the text's inference, and build Lucene's {@link KnnFloatVectorQuery} with the optional filter as a
 * pre-filter (Lucene falls back to exact search when the filter is selective).
 */
public final class EmbedKnnQueryBuilder extends AbstractQueryBuilder<EmbedKnnQueryBuilder> {
    public static final String NAME = "embed_knn";
    public static final int MAX_K = 10_000;

    private final String field;
    private final String queryText;
    private final String model;
    private final int k;
    private final QueryBuilder filter;
    private final float[] vector;
    private final Supplier<float[]> pendingVector;
    private final Supplier<InferenceService> inference;

    EmbedKnnQueryBuilder(
        String field,
        String queryText,
        String model,
        int k,
        QueryBuilder filter,
        float[] vector,
        Supplier<float[]> pendingVector,
        Supplier<InferenceService> inference
    ) {
        this.field = Objects.requireNonNull(field);
        this.queryText = queryText;
        this.model = model;
        this.k = k;
        this.filter = filter;
        this.vector = vector;
        this.pendingVector = pendingVector;
        this.inference = inference;
    }

    public EmbedKnnQueryBuilder(StreamInput in, Supplier<InferenceService> inference) throws IOException {
        super(in);
        this.field = in.readString();
        this.queryText = in.readOptionalString();
        this.model = in.readOptionalString();
        this.k = in.readVInt();
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.vector = in.readBoolean() ? in.readFloatArray() : null;
        this.pendingVector = null;
        this.inference = inference;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pendingVector != null) {
            throw new IllegalStateException("[" + NAME + "] is sent to shards only after its query text is encoded");
        }
        out.writeString(field);
        out.writeOptionalString(queryText);
        out.writeOptionalString(model);
        out.writeVInt(k);
        out.writeOptionalNamedWriteable(filter);
        out.writeBoolean(vector != null);
        if (vector != null) {
            out.writeFloatArray(vector);
        }
    }

    public String field() {
        return field;
    }

    public String queryText() {
        return queryText;
    }

    public String model() {
        return model;
    }

    public int k() {
        return k;
    }

    public QueryBuilder filter() {
        return filter;
    }

    /** The query vector once encoded, else null. */
    public float[] vector() {
        return vector;
    }

    private EmbedKnnQueryBuilder with(QueryBuilder newFilter, float[] newVector, Supplier<float[]> pending) {
        EmbedKnnQueryBuilder copy = new EmbedKnnQueryBuilder(field, queryText, model, k, newFilter, newVector, pending, inference);
        copy.boost(boost).queryName(queryName);
        return copy;
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (vector == null && pendingVector == null) {
            SetOnce<float[]> encoded = new SetOnce<>();
            InferenceService service = inference.get();
            context.registerAsyncAction(
                (client, listener) -> service.embed(model, Role.QUERY, List.of(queryText), ActionListener.wrap(vectors -> {
                    encoded.set(vectors[0]);
                    listener.onResponse(null);
                }, listener::onFailure))
            );
            return with(filter, null, encoded::get);
        }
        if (vector == null) {
            float[] ready = pendingVector.get();
            return ready == null ? this : with(filter, ready, null);
        }
        if (filter != null) {
            QueryBuilder rewritten = filter.rewrite(context);
            if (rewritten != filter) {
                return with(rewritten, vector, null);
            }
        }
        return this;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        if (vector == null) {
            throw new IllegalStateException("[" + NAME + "] query text must be encoded by a rewrite before the query is built");
        }
        MappedFieldType type = context.fieldMapper(field);
        if (type == null) {
            return new MatchNoDocsQuery("field [" + field + "] is not mapped");
        }
        if ((type instanceof EmbeddingFieldType) == false) {
            throw new QueryShardException(
                context,
                "[" + NAME + "] needs a field of type [embedding], but [" + field + "] is of type [" + type.typeName() + "]"
            );
        }
        EmbeddingFieldType embedding = (EmbeddingFieldType) type;
        if (embedding.dims() != vector.length) {
            throw new QueryShardException(
                context,
                "[" + NAME + "] field [" + field + "] has [" + embedding.dims() + "] dims but model [" + model + "] produces [" + vector.length + "]"
            );
        }
        if (embedding.model() != null && model != null && embedding.model().equals(model) == false) {
            throw new QueryShardException(
                context,
                "[" + NAME + "] field [" + field + "] is bound to model [" + embedding.model() + "], not [" + model + "]"
            );
        }
        Query filterQuery = filter == null ? null : filter.toQuery(context);
        return new KnnFloatVectorQuery(field, vector, k, filterQuery);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.startObject(field);
        if (queryText != null) {
            builder.field(EmbedKnnQueryParser.QUERY_TEXT.getPreferredName(), queryText);
        }
        if (model != null) {
            builder.field(EmbedKnnQueryParser.MODEL.getPreferredName(), model);
        }
        builder.field(EmbedKnnQueryParser.K.getPreferredName(), k);
        if (filter != null) {
            builder.field(EmbedKnnQueryParser.FILTER.getPreferredName(), filter);
        }
        printBoostAndQueryName(builder);
        builder.endObject();
        builder.endObject();
    }

    @Override
    protected boolean doEquals(EmbedKnnQueryBuilder other) {
        return field.equals(other.field)
            && Objects.equals(queryText, other.queryText)
            && Objects.equals(model, other.model)
            && k == other.k
            && Objects.equals(filter, other.filter)
            && Arrays.equals(vector, other.vector)
            && Objects.equals(pendingVector, other.pendingVector);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(field, queryText, model, k, filter, Arrays.hashCode(vector), pendingVector);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

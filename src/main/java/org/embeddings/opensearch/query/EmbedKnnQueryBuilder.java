package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.lucene.VectorMagnitude;
import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.ModelBinding;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper.EmbeddingFieldType;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.ObjectMapper;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.index.query.QueryShardException;

/**
 * {@code embed_knn}: nearest neighbours of a query text in an {@code embedding} field.
 *
 * <p>Life of a query: parsed with its text ({@link EmbedKnnQueryParser}); rewritten on the coordinating node, where
 * the model is resolved (the query's {@code model}, else the model the field is bound to in the searched indices'
 * mappings, and the two must agree) and the text is encoded with the query role by an async action on the plugin's
 * thread pool (never on a search or transport thread; a cached text answers at once) that fills a {@link SetOnce};
 * the next rewrite round swaps in the vector; shards receive the vector and build the Lucene query for the field's
 * vector format ({@link KnnQueries}) with the optional filter as a pre-filter (Lucene falls back to exact search
 * when the filter is selective). A query given as {@code query_vector} skips the encoding. A field inside a
 * {@code nested} object is searched inside a {@code nested} query, diversified by parent ({@link NestedKnn}).
 */
public final class EmbedKnnQueryBuilder extends AbstractQueryBuilder<EmbedKnnQueryBuilder> {
    public static final String NAME = "embed_knn";

    /** What the builder needs from the node, filled once the plugin's components exist. */
    public record Services(Supplier<InferenceService> inference, Supplier<EmbeddingFields> fields) {}

    private final String field;
    private final String queryText;
    private final String model;
    private final KnnOptions options;
    private final QueryBuilder filter;
    private final float[] vector;
    private final Supplier<float[]> pendingVector;
    private final Services services;

    EmbedKnnQueryBuilder(
            String field,
            String queryText,
            String model,
            KnnOptions options,
            QueryBuilder filter,
            float[] vector,
            Supplier<float[]> pendingVector,
            Services services) {
        this.field = Objects.requireNonNull(field);
        this.queryText = queryText;
        this.model = model;
        this.options = Objects.requireNonNull(options);
        this.filter = filter;
        this.vector = vector;
        this.pendingVector = pendingVector;
        this.services = services;
    }

    public EmbedKnnQueryBuilder(StreamInput in, Services services) throws IOException {
        super(in);
        this.field = in.readString();
        this.queryText = in.readOptionalString();
        this.model = in.readOptionalString();
        this.options = KnnOptions.readFrom(in);
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.vector = in.readBoolean() ? in.readFloatArray() : null;
        this.pendingVector = null;
        this.services = services;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pendingVector != null) {
            throw new IllegalStateException("[" + NAME + "] is sent to shards only after its query text is encoded");
        }
        out.writeString(field);
        out.writeOptionalString(queryText);
        out.writeOptionalString(model);
        options.writeTo(out);
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

    /** The model named in the query, or once rewritten on the coordinating node, the model that encoded it. */
    public String model() {
        return model;
    }

    public KnnOptions options() {
        return options;
    }

    public QueryBuilder filter() {
        return filter;
    }

    /** The query vector once encoded, else null. */
    public float[] vector() {
        return vector;
    }

    private EmbedKnnQueryBuilder with(
            String newModel, QueryBuilder newFilter, float[] newVector, Supplier<float[]> pending) {
        EmbedKnnQueryBuilder copy =
                new EmbedKnnQueryBuilder(field, queryText, newModel, options, newFilter, newVector, pending, services);
        copy.boost(boost).queryName(queryName);
        return copy;
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (vector == null && pendingVector == null) {
            QueryCoordinatorContext coordinator = context.convertToCoordinatorContext();
            String resolved = resolveModel(coordinator);
            SetOnce<float[]> encoded = new SetOnce<>();
            InferenceService service = services.inference().get();
            TimeValue timeout = searchTimeout(coordinator);
            context.registerAsyncAction((client, listener) -> service.embedQuery(
                    resolved,
                    queryText,
                    timeout,
                    ActionListener.wrap(
                            v -> {
                                encoded.set(v);
                                listener.onResponse(null);
                            },
                            listener::onFailure)));
            return with(resolved, filter, null, encoded::get);
        }
        if (vector == null) {
            float[] ready = pendingVector.get();
            return ready == null ? this : with(model, filter, ready, null);
        }
        if (filter != null) {
            QueryBuilder rewritten = filter.rewrite(context);
            if (rewritten != filter) {
                return with(model, rewritten, vector, null);
            }
        }
        return this;
    }

    /** The search's own timeout, which bounds how long its query text may wait for the encoder; null if none. */
    private static TimeValue searchTimeout(QueryCoordinatorContext coordinator) {
        if (coordinator != null
                && coordinator.getSearchRequest() instanceof SearchRequest search
                && search.source() != null) {
            return search.source().timeout();
        }
        return null;
    }

    /** The query's model, checked against (or else taken from) the field's binding in the searched indices. */
    private String resolveModel(QueryCoordinatorContext coordinator) {
        Optional<String> bound = coordinator == null
                ? Optional.empty()
                : services.fields().get().boundModel(coordinator.getSearchRequest(), field);
        if (bound.isPresent() && model != null && ModelBinding.takesQueriesOf(bound.get(), model) == false) {
            throw new IllegalArgumentException("[" + NAME + "] field [" + field + "] is bound to model [" + bound.get()
                    + "], not [" + model + "]");
        }
        String resolved = model != null ? model : bound.orElse(null);
        if (resolved == null) {
            throw new IllegalArgumentException("[" + NAME + "] field [" + field
                    + "] is not bound to a model in the searched indices; give [model]");
        }
        try {
            services.inference().get().registry().installedCard(resolved);
        } catch (ModelUnavailableException e) {
            throw (RuntimeException) InferenceService.translate(e);
        } catch (UnknownModelException e) {
            if (bound.isPresent()) {
                // the cluster knows the model (a mapping binds the field to it); this node just does not hold it
                throw new IllegalArgumentException(
                        "[" + NAME + "] field [" + field + "] is bound to model [" + resolved
                                + "], which is not installed on the node coordinating this "
                                + "search; install it on every node that coordinates searches, or search through one that has it ("
                                + e.getMessage() + ")",
                        e);
            }
            throw e;
        }
        return resolved;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        if (vector == null) {
            throw new IllegalStateException(
                    "[" + NAME + "] query text must be encoded by a rewrite before the query is built");
        }
        MappedFieldType type = context.fieldMapper(field);
        if (type == null) {
            return new MatchNoDocsQuery("field [" + field + "] is not mapped");
        }
        if ((type instanceof EmbeddingFieldType) == false) {
            throw new QueryShardException(
                    context,
                    "[" + NAME + "] needs a field of type [embedding], but [" + field + "] is of type ["
                            + type.typeName() + "]");
        }
        EmbeddingFieldType embedding = (EmbeddingFieldType) type;
        if (embedding.dims() != vector.length) {
            throw new QueryShardException(
                    context,
                    "[" + NAME + "] field [" + field + "] has [" + embedding.dims() + "] dims but "
                            + (queryText == null ? "[query_vector] has [" : "model [" + model + "] produces [")
                            + vector.length + "]");
        }
        String unscorable = VectorMagnitude.problem(vector, embedding.similarityFunction());
        if (unscorable != null) {
            throw new QueryShardException(
                    context,
                    "[" + NAME + "] field [" + field + "] uses " + embedding.similarity() + " similarity and cannot"
                            + " search with this " + (queryText == null ? "[query_vector]" : "query's vector") + ": "
                            + unscorable);
        }
        if (model != null && ModelBinding.takesQueriesOf(embedding.model(), model) == false) {
            throw new QueryShardException(
                    context,
                    "[" + NAME + "] field [" + field + "] is bound to model [" + embedding.model() + "], not [" + model
                            + "]");
        }
        ObjectMapper nested = NestedKnn.enclosingNested(context, field);
        if (nested != null) {
            return NestedKnn.build(
                    context,
                    nested,
                    field,
                    vector,
                    options,
                    filter,
                    embedding.indexOptions().quantization());
        }
        Query filterQuery = filter == null ? null : filter.toQuery(context);
        return KnnQueries.of(embedding.indexOptions().quantization(), field, vector, options, filterQuery, null);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.startObject(field);
        if (queryText != null) {
            builder.field(EmbedKnnQueryParser.QUERY_TEXT.getPreferredName(), queryText);
        } else if (vector != null) {
            builder.array(EmbedKnnQueryParser.QUERY_VECTOR.getPreferredName(), vector);
        }
        if (model != null) {
            builder.field(EmbedKnnQueryParser.MODEL.getPreferredName(), model);
        }
        builder.field(EmbedKnnQueryParser.K.getPreferredName(), options.k());
        builder.field(EmbedKnnQueryParser.NUM_CANDIDATES.getPreferredName(), options.numCandidates());
        if (options.hasMinScore()) {
            builder.field(EmbedKnnQueryParser.MIN_SCORE.getPreferredName(), options.minScore());
        }
        if (options.exact()) {
            builder.field(EmbedKnnQueryParser.EXACT.getPreferredName(), true);
        }
        if (options.oversample() != null) {
            builder.field(EmbedKnnQueryParser.OVERSAMPLE.getPreferredName(), options.oversample());
        }
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
                && options.equals(other.options)
                && Objects.equals(filter, other.filter)
                && Arrays.equals(vector, other.vector)
                && Objects.equals(pendingVector, other.pendingVector);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(field, queryText, model, options, filter, Arrays.hashCode(vector), pendingVector);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

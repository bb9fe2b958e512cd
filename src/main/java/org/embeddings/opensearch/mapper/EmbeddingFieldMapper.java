package org.embeddings.opensearch.mapper;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.VectorUtil;
import org.embeddings.encoder.Labels;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.lucene.VectorFormat;
import org.embeddings.lucene.VectorMagnitude;
import org.embeddings.opensearch.source.SourceVectorField;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.FieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.MappingLookup;
import org.opensearch.index.mapper.ParametrizedFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.SourceValueFetcher;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

/**
 * The {@code embedding} field: one dense float vector per document, indexed in Lucene's HNSW graph through
 * {@link KnnFloatVectorField}. Mapping: {@code dims} (or {@code model}, whose card gives the dims) and
 * {@code similarity} ({@code cosine}, {@code dot_product}, {@code l2_norm}), and {@code index_options}
 * ({@link IndexOptions}: graph or not, HNSW parameters, quantization), which the plugin's codec turns into the
 * field's Lucene vector format. A value of the wrong length, or with NaN or infinite components, fails the document
 * with a 400 naming the field; the rest of a bulk is unaffected.
 *
 * <p>A vector has no other form, so the field has no multi-fields and is no multi-field, and {@code copy_to} links
 * it only to another {@code embedding} field of its dims ({@link #doValidate}); anything else would fail every
 * document that uses it, so it is refused with the mapping. It is always indexed, never stored apart and has no doc
 * values; {@code index}, {@code store} and {@code doc_values} are accepted with those values only.
 *
 * <p>The dims are always part of the stored mapping, also for a field bound to a model, so that a node that does
 * not have that model's files (or card) still applies the mapping: a mapping with both {@code model} and
 * {@code dims} is accepted where the model is unknown, and checked against the model's card where it is known.
 */
public final class EmbeddingFieldMapper extends ParametrizedFieldMapper {
    /** The vector format of an {@code embedding} field's type; null for any other field (or none). */
    public static VectorFormat vectorFormat(MappedFieldType type) {
        return type instanceof EmbeddingFieldType embedding ? embedding.indexOptions() : null;
    }

    public static final String CONTENT_TYPE = "embedding";
    /** Lucene's HNSW format refuses vectors above this many dimensions; refuse them at mapping time instead. */
    public static final int MAX_DIMS = 1024;

    private final int dims;
    private final Similarity similarity;
    private final String model;
    private final VectorFormat indexOptions;
    private final FieldType luceneType;
    private final Supplier<ModelRegistry> registry;

    private static EmbeddingFieldMapper toType(FieldMapper in) {
        return (EmbeddingFieldMapper) in;
    }

    /** Parses mappings; needs the model registry to take a model-bound field's dims from its card. */
    public static ParametrizedFieldMapper.TypeParser typeParser(Supplier<ModelRegistry> registry) {
        return new ParametrizedFieldMapper.TypeParser((name, context) -> {
            if (context.isWithinMultiField()) {
                throw new MapperParsingException("field [" + name + "] of type [embedding] can't be a multi-field: "
                        + "its parent's value is not a vector; map it as a field of its own and fill it with the "
                        + "[embed] processor");
            }
            return new Builder(name, registry);
        });
    }

    public static final class Builder extends ParametrizedFieldMapper.Builder {
        // always written, so that a node without the model's card can still apply a model-bound mapping
        private final Parameter<Integer> dims =
                Parameter.intParam("dims", false, m -> toType(m).dims, 0).alwaysSerialize();
        private final Parameter<String> similarity = Parameter.restrictedStringParam(
                "similarity", false, m -> toType(m).similarity.label, "cosine", "dot_product", "l2_norm");
        private final Parameter<String> model = Parameter.stringParam("model", false, m -> toType(m).model, null)
                .acceptsNull();
        private final Parameter<VectorFormat> indexOptions = new Parameter<>(
                        IndexOptions.NAME,
                        false,
                        () -> VectorFormat.DEFAULT,
                        (field, context, node) -> IndexOptions.parse(field, node),
                        m -> toType(m).indexOptions)
                .setSerializer(
                        (builder, name, value) -> builder.field(name, IndexOptions.toMap(value)),
                        v -> IndexOptions.toMap(v).toString());
        private final Parameter<Map<String, String>> meta = Parameter.metaParam();
        // OpenSearch drops these three with only a deprecation warning where a mapper does not declare them, so that
        // "index": false would quietly leave the graph; each takes its one meaningful value, and the other is a 400
        private final Parameter<Boolean> index = Parameter.indexParam(m -> true, true)
                .setValidator(v -> refuseUnless(
                        v,
                        "is always indexed for [embed_knn]; "
                                + "for no HNSW graph, set [index_options] to {\"type\": \"flat\"}"));
        private final Parameter<Boolean> store = Parameter.storeParam(m -> false, false)
                .setValidator(v ->
                        refuseUnless(v == false, "can't be stored apart: its vector is read back from the source"));
        private final Parameter<Boolean> docValues = Parameter.docValuesParam(m -> false, false)
                .setValidator(v -> refuseUnless(
                        v == false,
                        "has no [doc_values]: its vectors are in Lucene's vector files, searched with [embed_knn]"));
        private final Supplier<ModelRegistry> registry;

        public Builder(String name, Supplier<ModelRegistry> registry) {
            super(name);
            this.registry = registry;
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(dims, similarity, model, indexOptions, meta, index, store, docValues);
        }

        private void refuseUnless(boolean ok, String why) {
            if (ok == false) {
                throw new MapperParsingException("field [" + name + "] of type [embedding] " + why);
            }
        }

        @Override
        public EmbeddingFieldMapper build(BuilderContext context) {
            int d = dims.getValue();
            String m = model.getValue();
            if (m != null) {
                ModelCard card = knownCard(m, d);
                if (card == null) {
                    m = normalizedModelName(m);
                } else {
                    if (d != 0 && d != card.dims()) {
                        throw new MapperParsingException("field [" + name + "] has dims [" + d + "] but model ["
                                + card.name() + "] produces [" + card.dims() + "]");
                    }
                    d = card.dims();
                    m = card.name();
                }
            }
            if (d < 1 || d > MAX_DIMS) {
                throw new MapperParsingException("field [" + name + "] of type [embedding] needs [dims] within [1, "
                        + MAX_DIMS + "] or a [model], got [" + d + "]");
            }
            Similarity sim = Similarity.of(similarity.getValue());
            VectorFormat options = indexOptions.getValue();
            IndexOptions.checkCodecOwner(name, options, context.indexSettings());
            EmbeddingFieldType type =
                    new EmbeddingFieldType(buildFullName(context), d, sim, m, options, meta.getValue());
            MultiFields multiFields = multiFieldsBuilder.build(this, context);
            if (multiFields.iterator().hasNext()) {
                throw new MapperParsingException("field [" + name + "] of type [embedding] can't have multi-fields "
                        + "([fields]): a vector has no other form to index");
            }
            return new EmbeddingFieldMapper(name, type, multiFields, copyTo.build(), d, sim, m, options, registry);
        }

        /**
         * The card of the model on this node, or null when this node does not know the model but the mapping gives
         * the dims (a mapping made on a node that has the model, applied here); a model alone that this node does
         * not know is refused, because nothing would say its dims.
         */
        private ModelCard knownCard(String m, int d) {
            ModelRegistry models = registry.get();
            try {
                if (models == null) {
                    throw new UnknownModelException("models are not available on this node yet");
                }
                return models.card(m);
            } catch (UnknownModelException e) {
                if (d != 0) {
                    return null;
                }
                throw new MapperParsingException(
                        "field [" + name + "] is bound to model [" + m + "], which this node does not know ("
                                + e.getMessage() + "); give [dims] with the model, or install the model");
            }
        }

        private String normalizedModelName(String m) {
            try {
                return ModelName.normalize(m);
            } catch (IllegalArgumentException e) {
                throw new MapperParsingException("field [" + name + "]: " + e.getMessage());
            }
        }
    }

    /** Vector similarity as users name it, and the Lucene function behind each name. */
    public enum Similarity {
        COSINE("cosine", VectorSimilarityFunction.COSINE),
        DOT_PRODUCT("dot_product", VectorSimilarityFunction.DOT_PRODUCT),
        L2_NORM("l2_norm", VectorSimilarityFunction.EUCLIDEAN);

        final String label;
        final VectorSimilarityFunction function;

        Similarity(String label, VectorSimilarityFunction function) {
            this.label = label;
            this.function = function;
        }

        static Similarity of(String label) {
            try {
                return Labels.parse(Similarity.class, "similarity", label);
            } catch (IllegalArgumentException e) {
                throw new MapperParsingException(e.getMessage());
            }
        }
    }

    /** Searchable by KNN only; the vector is read back from _source. */
    public static final class EmbeddingFieldType extends MappedFieldType {
        private final int dims;
        private final Similarity similarity;
        private final String model;
        private final VectorFormat indexOptions;

        EmbeddingFieldType(
                String name,
                int dims,
                Similarity similarity,
                String model,
                VectorFormat indexOptions,
                Map<String, String> meta) {
            super(name, true, false, false, TextSearchInfo.NONE, meta);
            this.dims = dims;
            this.similarity = similarity;
            this.model = model;
            this.indexOptions = indexOptions;
        }

        /** How the field's vectors are indexed: graph or not, HNSW parameters, quantization. */
        public VectorFormat indexOptions() {
            return indexOptions;
        }

        public int dims() {
            return dims;
        }

        /** The model this field is bound to, or null when any model of the right dims may write it. */
        public String model() {
            return model;
        }

        public VectorSimilarityFunction similarityFunction() {
            return similarity.function;
        }

        /** The similarity as the mapping names it: {@code cosine}, {@code dot_product} or {@code l2_norm}. */
        public String similarity() {
            return similarity.label;
        }

        @Override
        public String typeName() {
            return CONTENT_TYPE;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup lookup, String format) {
            return SourceValueFetcher.identity(name(), context, format);
        }

        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            throw new IllegalArgumentException(
                    "field [" + name() + "] of type [embedding] is searched with [embed_knn], not term queries");
        }

        @Override
        public Query existsQuery(QueryShardContext context) {
            return new FieldExistsQuery(name());
        }
    }

    private EmbeddingFieldMapper(
            String simpleName,
            EmbeddingFieldType type,
            MultiFields multiFields,
            CopyTo copyTo,
            int dims,
            Similarity similarity,
            String model,
            VectorFormat indexOptions,
            Supplier<ModelRegistry> registry) {
        super(simpleName, type, multiFields, copyTo);
        this.registry = registry;
        this.dims = dims;
        this.similarity = similarity;
        this.model = model;
        this.indexOptions = indexOptions;
        this.luceneType = KnnFloatVectorField.createFieldType(dims, similarity.function);
    }

    @Override
    public EmbeddingFieldType fieldType() {
        return (EmbeddingFieldType) super.fieldType();
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        XContentParser parser = context.parser();
        if (parser.currentToken() == XContentParser.Token.VALUE_NULL) {
            return;
        }
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw new MapperParsingException(
                    "field [" + name() + "] of type [embedding] expects an array of " + dims + " numbers");
        }
        float[] vector = new float[dims];
        int n = 0;
        for (XContentParser.Token token = parser.nextToken();
                token != XContentParser.Token.END_ARRAY;
                token = parser.nextToken()) {
            if (token != XContentParser.Token.VALUE_NUMBER) {
                throw new MapperParsingException(
                        "field [" + name() + "] of type [embedding] expects numbers, got [" + token + "]");
            }
            float value = parser.floatValue();
            if (Float.isFinite(value) == false) {
                throw new MapperParsingException(
                        "field [" + name() + "] has a non-finite value at position [" + n + "]");
            }
            if (n < dims) {
                vector[n] = value;
            }
            n++;
        }
        if (n != dims) {
            throw new MapperParsingException(
                    "field [" + name() + "] expects a vector of [" + dims + "] dims, got [" + n + "]");
        }
        if (context.doc().getByKey(name()) != null) {
            throw new MapperParsingException(
                    "field [" + name() + "] of type [embedding] takes one vector per document");
        }
        String unscorable = VectorMagnitude.problem(vector, similarity.function);
        if (unscorable != null) {
            throw new MapperParsingException("field [" + name() + "] uses " + similarity.label
                    + " similarity and cannot index this vector: " + unscorable);
        }
        boolean exact = true;
        if (similarity == Similarity.COSINE && indexOptions.quantization().quantized()) {
            // Cosine does not depend on length, so this changes no score; Lucene 10.4 and 10.5 re-quantize vectors
            // that are not unit-length wrongly when they merge a binary-quantized graph (apache/lucene#16665), so
            // quantized fields store unit vectors. A vector that changes here keeps its floats in the source.
            float[] sent = vector.clone();
            VectorUtil.l2normalize(vector);
            exact = Arrays.equals(sent, vector);
        }
        context.doc().addWithKey(name(), new SourceVectorField(fieldType().name(), vector, luceneType, exact));
    }

    /**
     * Refuses at mapping time the {@code copy_to} links that would fail every document that uses them: a vector
     * copied anywhere but into an {@code embedding} field of the same dims (and, where both are bound, the same
     * model), and any other field's value copied into this one, which is text or a number, never a vector.
     * OpenSearch runs this on the merged mapping, so the order in which the fields are added does not matter.
     */
    @Override
    protected void doValidate(MappingLookup mappers) {
        for (String target : copyTo().copyToFields()) {
            String problem = copyTargetProblem(mappers.getMapper(target));
            if (problem != null) {
                throw new IllegalArgumentException("field [" + name() + "] of type [embedding] can't [copy_to] ["
                        + target + "]: " + problem + "; copy a vector only into an [embedding] field of [" + dims
                        + "] dims");
            }
        }
        for (Mapper mapper : mappers) {
            if (mapper instanceof FieldMapper source
                    && (source instanceof EmbeddingFieldMapper) == false
                    && source.copyTo().copyToFields().contains(name())) {
                throw new IllegalArgumentException("field [" + source.name() + "] of type ["
                        + source.typeName() + "] can't [copy_to] [" + name() + "], of type [embedding]: it takes "
                        + "vectors, not copies of other fields; fill it from text with the [embed] processor");
            }
        }
    }

    /** Why a copy of this field's vector can't land in {@code target}, or null where it can. */
    private String copyTargetProblem(Mapper target) {
        if (target == null) {
            return "it is not mapped, and a vector can't be mapped dynamically";
        }
        if (target instanceof EmbeddingFieldMapper == false) {
            return "it is of type [" + target.typeName() + "], which can't hold a vector";
        }
        EmbeddingFieldMapper vectors = (EmbeddingFieldMapper) target;
        if (vectors.dims != dims) {
            return "it has [" + vectors.dims + "] dims, this field [" + dims + "]";
        }
        if (model != null && vectors.model != null && model.equals(vectors.model) == false) {
            return "it is bound to model [" + vectors.model + "], this field to [" + model + "]";
        }
        return null;
    }

    /** The whole JSON array is one vector, so the document parser must hand it over unsplit. */
    @Override
    public boolean parsesArrayValue() {
        return true;
    }

    @Override
    protected String contentType() {
        return CONTENT_TYPE;
    }

    @Override
    public ParametrizedFieldMapper.Builder getMergeBuilder() {
        return new Builder(simpleName(), registry).init(this);
    }
}

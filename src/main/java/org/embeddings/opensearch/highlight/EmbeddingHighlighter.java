package org.embeddings.opensearch.highlight;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.apache.lucene.util.BitSet;
import org.embeddings.lucene.KnnTargets;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.mapper.EmbeddingFieldMapper;
import org.opensearch.common.document.DocumentField;
import org.opensearch.common.lucene.search.Queries;
import org.opensearch.core.common.text.Text;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.ObjectMapper;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.fetch.subphase.highlight.FieldHighlightContext;
import org.opensearch.search.fetch.subphase.highlight.HighlightField;
import org.opensearch.search.fetch.subphase.highlight.Highlighter;

/**
 * The {@code embedding} highlighter: a text field's best passages for the query's {@code embed_knn} vector, as
 * highlight fragments, best first; their scores go in the hit's {@code fields} as {@value #SCORES}{@code <field>}.
 *
 * <p>Algorithm: the query vector and its field are found in the search's query ({@link KnnTargets}: through
 * {@code nested}, {@code bool} and {@code fusion}, global or per shard), or in the field's {@code highlight_query}.
 * The passages of the field are the nested documents of the hit in the nested vector field the query searched
 * (option {@code passages} names the path when the query searches several); each is scored with the stored vector
 * ({@link StoredPassages}), its fragment is the source text at its span (or at its span in its element, for
 * pre-chunked input), and the {@code number_of_fragments} best are returned (0: all). No inference runs. A hit
 * without passages gets no fragments, unless {@code encode_sentences} is set: then its sentences are encoded at fetch
 * time with the query's model and ranked the same way ({@link SentenceFragments}), within the search's timeout. A
 * query without a vector, a hit without the field's text, or a field that is neither a string nor an array of
 * strings gets no fragments. {@code inner_hits} plays no part.
 */
public final class EmbeddingHighlighter implements Highlighter {
    public static final String NAME = "embedding";
    /** The prefix of the hit field that holds each highlighted field's fragment scores, in fragment order. */
    public static final String SCORES = "highlight_scores.";

    private final Supplier<InferenceService> inference;
    private final FetchDeadline deadline;

    public EmbeddingHighlighter(Supplier<InferenceService> inference, FetchDeadline deadline) {
        this.inference = inference;
        this.deadline = deadline;
    }

    @Override
    public boolean canHighlight(MappedFieldType fieldType) {
        return switch (fieldType.typeName()) {
            case "text", "match_only_text", "keyword" -> true;
            default -> false;
        };
    }

    @Override
    public HighlightField highlight(FieldHighlightContext context) throws IOException {
        HighlightOptions options =
                HighlightOptions.parse(context.field.fieldOptions().options());
        List<KnnTargets.Target> targets = KnnTargets.of(context.query);
        if (targets.isEmpty()) {
            return null;
        }
        Object value = context.hitContext.sourceLookup().extractValue(context.fieldName, null);
        List<String> texts = texts(value);
        if (texts == null) {
            return null;
        }
        QueryShardContext shard = context.context.getQueryShardContext();
        KnnTargets.Target passages = passageTarget(shard, targets, options);
        List<Fragment> fragments = List.of();
        if (passages != null) {
            String path = passages.field().substring(0, passages.field().lastIndexOf('.'));
            BitSet roots =
                    shard.bitsetFilter(Queries.newNonNestedFilter()).getBitSet(context.hitContext.readerContext());
            fragments = StoredPassages.score(
                    context.hitContext.reader(),
                    context.hitContext.docId(),
                    roots,
                    passages.field(),
                    path,
                    passages.vector(),
                    texts,
                    value instanceof List);
        }
        if (fragments.isEmpty() && options.encodeSentences()) {
            KnnTargets.Target target = passages != null ? passages : targets.get(0);
            fragments = sentences(shard, target, texts, options);
        }
        if (fragments == null || fragments.isEmpty()) {
            return null;
        }
        List<Fragment> best = new ArrayList<>(fragments);
        best.sort(Fragment.BEST_FIRST);
        int n = context.field.fieldOptions().numberOfFragments();
        if (n > 0 && best.size() > n) {
            best = best.subList(0, n);
        }
        Text[] text = new Text[best.size()];
        List<Object> scores = new ArrayList<>(best.size());
        for (int i = 0; i < text.length; i++) {
            text[i] = new Text(best.get(i).text());
            scores.add(best.get(i).score());
        }
        String scoresField = SCORES + context.fieldName;
        context.hitContext.hit().setDocumentField(scoresField, new DocumentField(scoresField, scores));
        return new HighlightField(context.fieldName, text);
    }

    /** The field's text, or its elements: null for a value that is neither a string nor an array of strings. */
    private static List<String> texts(Object value) {
        if (value instanceof String text) {
            return List.of(text);
        }
        if (value instanceof List<?> list && list.isEmpty() == false) {
            List<String> out = new ArrayList<>(list.size());
            for (Object element : list) {
                if (element instanceof String text) {
                    out.add(text);
                } else {
                    return null;
                }
            }
            return out;
        }
        return null;
    }

    /**
     * The vector search over the passages: the query's one search of a field directly inside a {@code nested} object
     * (inside {@code options.passages()} when given), or null; several nested paths without the option are a 400.
     */
    private static KnnTargets.Target passageTarget(
            QueryShardContext shard, List<KnnTargets.Target> targets, HighlightOptions options) {
        if (options.passages() != null) {
            ObjectMapper named = shard.getObjectMapper(options.passages());
            if (named == null || named.nested().isNested() == false) {
                throw new IllegalArgumentException("[" + NAME + "] highlighter: [" + HighlightOptions.PASSAGES + "] ["
                        + options.passages() + "] is not a [nested] field of index ["
                        + shard.index().getName()
                        + "]; name the nested path the passages were written to");
            }
        }
        KnnTargets.Target found = null;
        for (KnnTargets.Target target : targets) {
            int dot = target.field().lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            String path = target.field().substring(0, dot);
            if (options.passages() != null && options.passages().equals(path) == false) {
                continue;
            }
            ObjectMapper nested = shard.getObjectMapper(path);
            if (nested == null || nested.nested().isNested() == false) {
                continue;
            }
            if (found != null && found.field().equals(target.field()) == false) {
                throw new IllegalArgumentException("[" + NAME + "] highlighter: the query searches passages in ["
                        + found.field() + "] and [" + target.field() + "]; name the path of this field's passages in"
                        + " the [" + HighlightOptions.PASSAGES + "] option");
            }
            if (found == null) {
                found = target;
            }
        }
        return found;
    }

    /** The sentences of the hit encoded with the query's model, scored with the query field's similarity. */
    private List<Fragment> sentences(
            QueryShardContext shard, KnnTargets.Target target, List<String> texts, HighlightOptions options) {
        if ((shard.fieldMapper(target.field()) instanceof EmbeddingFieldMapper.EmbeddingFieldType) == false) {
            return null;
        }
        EmbeddingFieldMapper.EmbeddingFieldType field =
                (EmbeddingFieldMapper.EmbeddingFieldType) shard.fieldMapper(target.field());
        String model = options.model() != null ? options.model() : field.model();
        if (model == null) {
            throw new IllegalArgumentException("[" + NAME + "] highlighter: field [" + target.field()
                    + "] is bound to no model; give the model that encoded the query in the ["
                    + HighlightOptions.MODEL + "] option");
        }
        InferenceService service = inference.get();
        return SentenceFragments.score(
                service,
                model,
                texts,
                target.vector(),
                field.similarityFunction(),
                deadline.remainingNanos(service.defaultQueryTimeout()));
    }
}

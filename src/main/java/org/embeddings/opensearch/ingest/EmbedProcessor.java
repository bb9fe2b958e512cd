package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.embeddings.encoder.Chunking;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Role;
import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.core.action.ActionListener;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

/**
 * The {@code embed} ingest processor: for each {@code source -> target} pair of {@code field_map}, writes the passage
 * embedding of the source text into the target field.
 *
 * <p>Algorithm: a bulk hands the processor all its documents at once ({@link #batchExecute}); it collects every text
 * of every document, sends them to the encoder in one call (which cuts them into length-sorted sub-batches), and
 * writes the vectors back. A document whose input is bad (missing field without {@code ignore_missing}, a value that
 * is not a non-empty string) fails alone, with its own error; the others go on. Inference runs on the plugin's
 * thread pool; the handler is called from there.
 *
 * <p>With {@code chunking}, each source text is cut into passages (token windows of the model, see
 * {@link Chunking}) and a target {@code PATH.FIELD}, where the index maps {@code PATH} as {@code nested}, receives
 * {@code PATH: [{FIELD: vector, "start": s, "end": e}, ...]}, one object per passage with its character span in the
 * source text ({@link PassageObjects}), replacing whatever {@code PATH} held. A source that is an array of strings
 * is pre-chunked input ({@link SourceTexts}): each element is cut alone, and its passages carry the element's
 * position as {@code "element"}, their spans indexing the element. Cutting runs with the encoding, on the plugin's
 * pool; all passages of all documents of a bulk are encoded in one encoder call. With a {@code title_field}, the document's
 * title goes before every passage's text (see {@link org.embeddings.encoder.PassageCutter}); a document without
 * one has passages without it, and one whose title is not a string fails alone.
 */
public final class EmbedProcessor extends AbstractProcessor {
    public static final String TYPE = "embed";
    private static final String NESTED = "nested";

    private final String model;
    private final Map<String, String> fieldMap;
    private final boolean ignoreMissing;
    private final InferenceService inference;
    private final EmbeddingFields fields;
    /** Null: one vector per text, truncated to the model's limit. */
    private final Chunking chunking;
    /** With chunking, the field whose text goes before every passage of a document; null: none. */
    private final String titleField;

    EmbedProcessor(
            String tag,
            String description,
            String model,
            Map<String, String> fieldMap,
            boolean ignoreMissing,
            Chunking chunking,
            String titleField,
            InferenceService inference,
            EmbeddingFields fields) {
        super(tag, description);
        this.model = model;
        this.fieldMap = new LinkedHashMap<>(fieldMap);
        this.ignoreMissing = ignoreMissing;
        this.chunking = chunking;
        this.titleField = titleField;
        this.inference = inference;
        this.fields = fields;
    }

    /** The nested path of a chunking target {@code PATH.FIELD}. */
    static String passagePath(String target) {
        return target.substring(0, target.lastIndexOf('.'));
    }

    /** The vector field of a chunking target {@code PATH.FIELD}, within each passage object. */
    static String passageField(String target) {
        return target.substring(target.lastIndexOf('.') + 1);
    }

    @Override
    public String getType() {
        return TYPE;
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        throw new UnsupportedOperationException("the [embed] processor runs asynchronously");
    }

    @Override
    public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        batchExecute(List.of(new IngestDocumentWrapper(0, 0, document, null)), results -> {
            IngestDocumentWrapper result = results.get(0);
            handler.accept(result.getException() == null ? result.getIngestDocument() : null, result.getException());
        });
    }

    /**
     * One text to embed: which document, which target field, and for pre-chunked input which element of the source
     * array (-1 for a source string).
     */
    private record Slot(IngestDocumentWrapper document, String target, int element) {}

    /** One document's target, which the passages of all its slots replace together. */
    private record Target(IngestDocumentWrapper document, String target) {}

    @Override
    public void batchExecute(List<IngestDocumentWrapper> documents, Consumer<List<IngestDocumentWrapper>> handler) {
        List<Slot> slots = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<String> titles = new ArrayList<>();
        for (IngestDocumentWrapper wrapper : documents) {
            if (wrapper.getException() != null) {
                continue;
            }
            List<Slot> own = new ArrayList<>();
            List<String> ownTexts = new ArrayList<>();
            try {
                String title = title(wrapper.getIngestDocument());
                collect(wrapper, own, ownTexts);
                slots.addAll(own);
                texts.addAll(ownTexts);
                ownTexts.forEach(text -> titles.add(title));
            } catch (InvalidInputException e) {
                wrapper.update(wrapper.getIngestDocument(), e);
            }
        }
        if (texts.isEmpty()) {
            handler.accept(documents);
            return;
        }
        Consumer<Exception> fail = e -> {
            for (Slot slot : slots) {
                slot.document().update(slot.document().getIngestDocument(), e);
            }
            handler.accept(documents);
        };
        if (chunking != null) {
            inference.embedPassages(
                    model,
                    Role.PASSAGE,
                    texts,
                    titles,
                    chunking,
                    ActionListener.wrap(
                            passages -> {
                                // the elements of a pre-chunked source are consecutive slots of one target
                                Map<Target, List<Map<String, Object>>> objects = new LinkedHashMap<>();
                                for (int i = 0; i < passages.size(); i++) {
                                    Slot slot = slots.get(i);
                                    objects.computeIfAbsent(
                                                    new Target(slot.document(), slot.target()), t -> new ArrayList<>())
                                            .addAll(PassageObjects.of(
                                                    passageField(slot.target()), passages.get(i), slot.element()));
                                }
                                objects.forEach((t, passageObjects) -> t.document()
                                        .getIngestDocument()
                                        .setFieldValue(passagePath(t.target()), passageObjects));
                                handler.accept(documents);
                            },
                            fail::accept));
            return;
        }
        inference.embed(
                model,
                Role.PASSAGE,
                texts,
                ActionListener.wrap(
                        vectors -> {
                            for (int i = 0; i < vectors.length; i++) {
                                Slot slot = slots.get(i);
                                slot.document()
                                        .getIngestDocument()
                                        .setFieldValue(slot.target(), PassageObjects.toList(vectors[i]));
                            }
                            handler.accept(documents);
                        },
                        fail::accept));
    }

    /** The document's title for its passages: null without a title field, or where the document has none. */
    private String title(IngestDocument doc) {
        if (titleField == null) {
            return null;
        }
        Object value = doc.getFieldValue(titleField, Object.class, true);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw new InvalidInputException("[embed] title field [" + titleField + "] must be a string, got ["
                + value.getClass().getSimpleName() + "]");
    }

    private void collect(IngestDocumentWrapper wrapper, List<Slot> slots, List<String> texts) {
        IngestDocument doc = wrapper.getIngestDocument();
        Object index = doc.getSourceAndMetadata().get(IngestDocument.Metadata.INDEX.getFieldName());
        for (Map.Entry<String, String> e : fieldMap.entrySet()) {
            if (index instanceof String name && fields != null) {
                if (chunking != null) {
                    checkPassagePath(name, e.getValue());
                }
                checkTarget(name, e.getValue());
            }
            Object value = doc.getFieldValue(e.getKey(), Object.class, true);
            if (value == null) {
                if (ignoreMissing) {
                    continue;
                }
                throw new InvalidInputException(
                        "[embed] source field [" + e.getKey() + "] is missing or null; set ignore_missing to skip it");
            }
            List<String> own = SourceTexts.of(e.getKey(), value, chunking != null);
            boolean elements = value instanceof List;
            for (int i = 0; i < own.size(); i++) {
                slots.add(new Slot(wrapper, e.getValue(), elements ? i : -1));
            }
            texts.addAll(own);
        }
    }

    /** Refuses a target the index maps as something other than an embedding, or binds to another model. */
    private void checkTarget(String index, String target) {
        fields.mapped(index, target).ifPresent(mapped -> {
            if (mapped.isEmbedding() == false) {
                throw new InvalidInputException("[embed] target field [" + target + "] of index [" + index
                        + "] is of type [" + mapped.type() + "], not [embedding]");
            }
            if (mapped.model() != null && mapped.model().equals(model) == false) {
                throw new InvalidInputException(
                        "[embed] target field [" + target + "] of index [" + index + "] is bound to model ["
                                + mapped.model() + "], but this pipeline embeds with [" + model + "]");
            }
        });
    }

    /**
     * Refuses a chunking target whose path an existing index does not map as {@code nested}: unmapped, a dynamic
     * mapping would make it a plain object, whose passages Lucene cannot keep apart.
     */
    private void checkPassagePath(String index, String target) {
        if (fields.exists(index) == false) {
            return; // the index is created from a template when the document arrives; nothing to check yet
        }
        String path = passagePath(target);
        String type = fields.mapped(index, path)
                .map(EmbeddingFields.MappedField::type)
                .orElse(null);
        if (NESTED.equals(type) == false) {
            throw new InvalidInputException(
                    "[embed] chunking target [" + target + "] needs [" + path + "] mapped as [nested] in index ["
                            + index + "], but it is " + (type == null ? "not mapped" : "of type [" + type + "]"));
        }
    }
}

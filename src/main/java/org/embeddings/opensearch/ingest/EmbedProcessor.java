package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.embeddings.encoder.Chunking;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Passage;
import org.embeddings.encoder.Role;
import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.WriteMapping;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.breaker.CircuitBreakingException;
import org.opensearch.core.common.breaker.NoopCircuitBreaker;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

/**
 * The {@code embed} ingest processor: for each {@code source -> target} pair of {@code field_map}, writes the passage
 * embedding of the source text into the target field.
 *
 * <p>Algorithm: a bulk hands the processor all its documents at once ({@link #batchExecute}). Each document is
 * checked first: its texts (a missing field without {@code ignore_missing}, a value that is not a non-empty string)
 * and its targets, in the mapping its write lands in ({@link TargetCheck}; aliases, data streams and date math
 * resolved to the concrete write index, once per index name and batch; a simulated document without an index is not
 * checked). A document that fails a check fails alone,
 * with a 400 naming the problem. The rest are cut into {@link Slices} and run one slice at a time: the slice's vector
 * bytes are reserved in the bulk's {@link BulkCharge} (a refusal fails the slice's documents with a 429, and the next
 * slice tries again), its texts are encoded in one encoder call (length-sorted sub-batches, on the plugin's pool), and
 * each document gets its vectors as {@link VectorList}s over the encoder's arrays. A document whose vector cannot be
 * written (its target's parent is not an object) fails alone, its bytes given back. The handler is called once, when
 * every slice is done; slices continue on the thread that completed the previous one, never a transport thread.
 *
 * <p>With {@code chunking}, each source text is cut into passages (token windows of the model, see
 * {@link Chunking}) and a target {@code PATH.FIELD}, where the index maps {@code PATH} as {@code nested}, receives
 * {@code PATH: [{FIELD: vector, "start": s, "end": e}, ...]}, one object per passage with its character span in the
 * source text, replacing whatever {@code PATH} held. Cutting runs with the encoding, on the plugin's pool, and the
 * passages' bytes are reserved once the slice is cut, before any is encoded. With a {@code title_field}, the
 * document's title goes before every passage's text (see {@link org.embeddings.encoder.PassageCutter}); a document
 * without one has passages without it, and one whose title is not a string fails alone. An unpaired surrogate in a
 * text is read as U+FFFD, and spans still index the stored text ({@link org.embeddings.encoder.UnpairedSurrogates}).
 */
public final class EmbedProcessor extends AbstractProcessor {
    public static final String TYPE = "embed";
    /** The passage object's keys for its character span in the source text. */
    public static final String START = "start", END = "end";

    private final String model;
    private final int dims;
    private final Map<String, String> fieldMap;
    private final boolean ignoreMissing;
    private final InferenceService inference;
    private final EmbeddingFields fields;
    /** Null: one vector per text, truncated to the model's limit. */
    private final Chunking chunking;
    /** With chunking, the field whose text goes before every passage of a document; null: none. */
    private final String titleField;

    private final Supplier<ThreadContext> threadContext;
    private final Supplier<CircuitBreaker> breaker;

    EmbedProcessor(
            String tag,
            String description,
            String model,
            int dims,
            Map<String, String> fieldMap,
            boolean ignoreMissing,
            Chunking chunking,
            String titleField,
            InferenceService inference,
            EmbeddingFields fields,
            Supplier<ThreadContext> threadContext,
            Supplier<CircuitBreaker> breaker) {
        super(tag, description);
        this.model = model;
        this.dims = dims;
        this.fieldMap = new LinkedHashMap<>(fieldMap);
        this.ignoreMissing = ignoreMissing;
        this.chunking = chunking;
        this.titleField = titleField;
        this.inference = inference;
        this.fields = fields;
        this.threadContext = threadContext;
        this.breaker = breaker;
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

    /** One text to embed: which target field of its document, and the title before its passages (or null). */
    private record Text(String target, String text, String title) {}

    /** A document that passed its checks, with its texts in {@code field_map} order. */
    private record Document(IngestDocumentWrapper wrapper, List<Text> texts, long chars) {}

    @Override
    public void batchExecute(List<IngestDocumentWrapper> documents, Consumer<List<IngestDocumentWrapper>> handler) {
        Map<String, WriteMapping> mappings = new HashMap<>();
        List<Document> checked = new ArrayList<>();
        for (IngestDocumentWrapper wrapper : documents) {
            if (wrapper.getException() != null) {
                continue;
            }
            try {
                Document document = check(wrapper, mappings);
                if (document.texts().isEmpty() == false) {
                    checked.add(document);
                }
            } catch (RuntimeException e) { // a 400 naming the problem; anything else fails this document alone too
                wrapper.update(wrapper.getIngestDocument(), e);
            }
        }
        if (checked.isEmpty()) {
            handler.accept(documents);
            return;
        }
        BulkCharge bulk = BulkCharge.current(threadContext.get());
        CircuitBreaker circuitBreaker = breaker.get();
        BulkCharge charge = bulk != null
                ? bulk
                : new BulkCharge(circuitBreaker == null ? new NoopCircuitBreaker(BulkCharge.BREAKER) : circuitBreaker);
        List<List<Document>> slices = Slices.cut(checked, d -> d.texts().size(), Document::chars);
        new Run(slices, charge, () -> {
                    if (bulk == null) {
                        charge.close(); // outside a bulk (a simulation), no index request will hold the vectors
                    }
                    handler.accept(documents);
                })
                .next();
    }

    /** Checks one document's targets and texts; throws {@link InvalidInputException} for the first problem. */
    private Document check(IngestDocumentWrapper wrapper, Map<String, WriteMapping> mappings) {
        IngestDocument doc = wrapper.getIngestDocument();
        Object index = doc.getSourceAndMetadata().get(IngestDocument.Metadata.INDEX.getFieldName());
        // no index name starts with "_": a simulated document without an index has "_index", and nothing to check
        WriteMapping mapping = index instanceof String name && name.startsWith("_") == false && fields != null
                ? mappings.computeIfAbsent(name, fields::writeMapping)
                : null;
        String title = title(doc);
        List<Text> texts = new ArrayList<>(fieldMap.size());
        long chars = 0;
        for (Map.Entry<String, String> e : fieldMap.entrySet()) {
            if (mapping != null) {
                TargetCheck.check(mapping, e.getValue(), model, chunking != null);
            }
            Object value = doc.getFieldValue(e.getKey(), Object.class, true);
            if (value == null) {
                if (ignoreMissing) {
                    continue;
                }
                throw new InvalidInputException(
                        "[embed] source field [" + e.getKey() + "] is missing or null; set ignore_missing to skip it");
            }
            if (value instanceof String text) {
                if (text.isBlank()) {
                    throw new InvalidInputException(
                            "[embed] source field [" + e.getKey() + "] is empty; nothing to embed");
                }
                texts.add(new Text(e.getValue(), text, title));
                chars += text.length() + (title == null ? 0 : title.length());
            } else {
                throw new InvalidInputException("[embed] source field [" + e.getKey() + "] must be a string, got ["
                        + value.getClass().getSimpleName() + "]");
            }
        }
        return new Document(wrapper, texts, chars);
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

    /**
     * The slices of one batch, run one after the other: each slice's bytes reserved, its texts encoded, its vectors
     * written back; then {@code done}.
     */
    private final class Run {
        private final List<List<Document>> slices;
        private final BulkCharge charge;
        private final Runnable done;
        private int next;

        Run(List<List<Document>> slices, BulkCharge charge, Runnable done) {
            this.slices = slices;
            this.charge = charge;
            this.done = done;
        }

        /** Starts the next slice that the breaker admits, failing the ones it refuses; {@code done} after the last. */
        void next() {
            while (next < slices.size()) {
                List<Document> slice = slices.get(next++);
                List<Text> texts = new ArrayList<>();
                slice.forEach(d -> texts.addAll(d.texts()));
                if (chunking == null) {
                    long bytes = texts.size() * VectorBytes.perVector(dims);
                    try {
                        charge.reserve(bytes, texts.size() + " vectors of " + slice.size() + " documents");
                    } catch (CircuitBreakingException e) {
                        fail(slice, e);
                        continue;
                    }
                    embed(slice, texts, bytes);
                } else {
                    embedPassages(slice, texts);
                }
                return;
            }
            done.run();
        }

        private void embed(List<Document> slice, List<Text> texts, long bytes) {
            inference.embed(model, Role.PASSAGE, texts.stream().map(Text::text).toList(), new SliceListener<>(slice) {
                @Override
                void written(float[][] vectors) {
                    int at = 0;
                    for (Document document : slice) {
                        int n = document.texts().size();
                        List<Object> values = new ArrayList<>(n);
                        for (int i = 0; i < n; i++) {
                            values.add(new VectorList(vectors[at + i]));
                        }
                        at += n;
                        if (write(document, values) == false) {
                            charge.release(n * VectorBytes.perVector(dims));
                        }
                    }
                }

                @Override
                void failed() {
                    charge.release(bytes);
                }
            });
        }

        private void embedPassages(List<Document> slice, List<Text> texts) {
            long[] reserved = {0};
            inference.embedPassages(
                    model,
                    Role.PASSAGE,
                    texts.stream().map(Text::text).toList(),
                    titleField == null ? null : texts.stream().map(Text::title).toList(),
                    chunking,
                    passages -> {
                        long bytes = passages * VectorBytes.perPassage(dims);
                        charge.reserve(bytes, passages + " passage vectors of " + slice.size() + " documents");
                        reserved[0] = bytes;
                    },
                    new SliceListener<>(slice) {
                        @Override
                        void written(List<List<Passage>> passages) {
                            int at = 0;
                            for (Document document : slice) {
                                List<Object> values =
                                        new ArrayList<>(document.texts().size());
                                int count = 0;
                                for (Text text : document.texts()) {
                                    List<Passage> own = passages.get(at++);
                                    values.add(objects(passageField(text.target()), own));
                                    count += own.size();
                                }
                                if (write(document, values) == false) {
                                    charge.release(count * VectorBytes.perPassage(dims));
                                }
                            }
                        }

                        @Override
                        void failed() {
                            charge.release(reserved[0]);
                        }
                    });
        }

        /**
         * Completes one slice exactly once: its vectors written back, or its documents failed with the encoder's
         * error and its bytes given back; then the next slice.
         */
        private abstract class SliceListener<T> implements ActionListener<T> {
            private final List<Document> slice;

            SliceListener(List<Document> slice) {
                this.slice = slice;
            }

            abstract void written(T result);

            abstract void failed();

            @Override
            public void onResponse(T result) {
                written(result);
                next();
            }

            @Override
            public void onFailure(Exception e) {
                failed();
                fail(slice, e);
                next();
            }
        }

        /**
         * Writes each text's value into its target of {@code document}; false, with the document failed alone, where
         * a target cannot take it.
         */
        private boolean write(Document document, List<Object> values) {
            IngestDocument doc = document.wrapper().getIngestDocument();
            for (int i = 0; i < values.size(); i++) {
                String target = document.texts().get(i).target();
                String path = chunking == null ? target : passagePath(target);
                try {
                    doc.setFieldValue(path, values.get(i));
                } catch (RuntimeException e) {
                    document.wrapper()
                            .update(
                                    doc,
                                    new InvalidInputException(
                                            "[embed] cannot write the vector into target field [" + target + "]: "
                                                    + e.getMessage(),
                                            e));
                    return false;
                }
            }
            return true;
        }

        private void fail(List<Document> slice, Exception e) {
            for (Document document : slice) {
                document.wrapper().update(document.wrapper().getIngestDocument(), e);
            }
        }
    }

    /** One text's passages as the nested objects the target's path receives. */
    private static List<Map<String, Object>> objects(String field, List<Passage> passages) {
        List<Map<String, Object>> objects = new ArrayList<>(passages.size());
        for (Passage passage : passages) {
            Map<String, Object> object = new LinkedHashMap<>();
            object.put(field, new VectorList(passage.vector()));
            object.put(START, passage.start());
            object.put(END, passage.end());
            objects.add(object);
        }
        return objects;
    }
}

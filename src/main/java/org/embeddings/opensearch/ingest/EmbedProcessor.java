package org.embeddings.opensearch.ingest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.RunMemory;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.encoder.models.RecipeFingerprint;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.Passage;
import org.embeddings.encoder.passages.PassageCutter;
import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.WriteMapping;
import org.embeddings.opensearch.inference.InferenceService;
import org.embeddings.opensearch.mapper.DigestsFieldMapper;
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
 * embedding of the source text into the target field, and what it was made from into {@code _embeddings}.
 *
 * <p>Algorithm: a bulk hands the processor all its documents at once ({@link #batchExecute}). Each document is
 * checked first: its texts (a missing field without {@code ignore_missing}, a value that is not a non-empty string,
 * or with chunking not an array of them; {@link SourceTexts}) and its targets, in the mapping its write lands in
 * ({@link TargetCheck}; aliases, data streams and date math resolved to the concrete write index, once per index name
 * and batch; a simulated document without an index is not checked). A document that fails a check fails alone, with a
 * 400 naming the problem. The rest are cut into {@link Slices} and run one slice at a time: the slice's vector
 * bytes are reserved in the bulk's {@link BulkCharge} (a refusal fails the slice's documents with a 429, and the next
 * slice tries again), each text gets its vector, and each document gets its vectors as {@link VectorList}s over the
 * encoder's arrays. A document whose vector cannot be written (its target's parent is not an object) fails alone, its
 * bytes given back. The handler is called once, when every slice is done; slices continue on the thread that
 * completed the previous one, never a transport thread.
 *
 * <p>Inference is paid once ({@link Reuse}). Every text gets a digest of the model's recipe and the text
 * ({@link Digests}), written with its vectors into {@code _embeddings} ({@link SourceDigests}). Where reuse applies,
 * a text's vector is, in this order: the one its document already carries under the same digest ({@code _reindex},
 * {@code _update_by_query}: skipped); the one an identical text earlier in the bulk was encoded to (deduplicated); the
 * one the stored version of the document holds under the same digest, read for the whole slice with one multi-get
 * ({@link PreviousVersions}: reused); else the model's, each distinct text of the slice encoded once. Counted per model
 * in {@link ReuseStats}.
 *
 * <p>With {@code chunking}, each source text is cut into passages (token windows of the model, see
 * {@link Chunking}) and a target {@code PATH.FIELD}, where the index maps {@code PATH} as {@code nested}, receives
 * {@code PATH: [{FIELD: vector, "start": s, "end": e}, ...]}, one object per passage with its character span in the
 * source text ({@link PassageObjects}), replacing whatever {@code PATH} held. A source that is an array of strings is
 * pre-chunked input ({@link SourceTexts}): each element is cut alone, and its passages carry the element's position as
 * {@code "element"}, their spans indexing the element. A document whose text (or every element, at its position),
 * title and chunking (strategy and every option) are unchanged keeps or reuses all its passages without being cut
 * again; else its text is cut (on the plugin's pool), and each window is looked up by the digest of its tokens among
 * the stored version's windows and the bulk's, so that only the windows whose text changed are encoded. The passages'
 * bytes are reserved once the slice is cut, before any is encoded; a slice counts an array's elements as its texts.
 * With a {@code title_field}, the document's title goes before every passage's text (see
 * {@link org.embeddings.encoder.passages.PassageCutter}); a document without one has passages without it, and one whose title
 * is not a string fails alone. An unpaired surrogate in a text is read as U+FFFD, and spans still index the stored text
 * ({@link org.embeddings.encoder.UnpairedSurrogates}).
 */
public final class EmbedProcessor extends AbstractProcessor {
    public static final String TYPE = "embed";
    /** The passage object's keys for its character span in the source text, and for its element of an array. */
    public static final String START = PassageObjects.START, END = PassageObjects.END, ELEMENT = PassageObjects.ELEMENT;

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
    private final Reuse reuse;
    private final ReuseStats.Counters counters;

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
            Supplier<CircuitBreaker> breaker,
            Reuse reuse) {
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
        this.reuse = reuse;
        this.counters = reuse.stats().of(model);
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
     * One source field's value to embed: which target field of its document, its text (or, for pre-chunked input,
     * {@code elements}: the array's strings, each cut alone), the title before its passages (or null), and whether its
     * vectors may be reused.
     */
    private record Text(String target, List<String> texts, boolean elements, String title, boolean reuse) {
        /** The one text of a source string. */
        String text() {
            return texts.get(0);
        }
    }

    /**
     * A document that passed its checks, with its texts in {@code field_map} order, and the mapping its write lands in
     * (null for a simulated document without an index).
     */
    private record Document(IngestDocumentWrapper wrapper, List<Text> texts, long chars, WriteMapping mapping) {
        /** The texts the encoder sees: one per source string, one per element of a pre-chunked array. */
        int units() {
            int n = 0;
            for (Text text : texts) {
                n += text.texts().size();
            }
            return n;
        }
    }

    /**
     * The wrappers this processor answers with: new ones, as OpenSearch's own processors answer, never the caller's.
     * A {@code CompoundProcessor} with {@code ignore_failure} goes on with the wrapper it handed over for a document
     * that failed here, so a failure recorded on that one would fail the document all the same.
     */
    static List<IngestDocumentWrapper> answers(List<IngestDocumentWrapper> documents) {
        List<IngestDocumentWrapper> answers = new ArrayList<>(documents.size());
        for (IngestDocumentWrapper w : documents) {
            answers.add(
                    new IngestDocumentWrapper(w.getSlot(), w.getChildSlot(), w.getIngestDocument(), w.getException()));
        }
        return answers;
    }

    @Override
    public void batchExecute(List<IngestDocumentWrapper> given, Consumer<List<IngestDocumentWrapper>> handler) {
        List<IngestDocumentWrapper> documents = answers(given);
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
        List<List<Document>> slices = Slices.cut(checked, Document::units, Document::chars);
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
            boolean bound = mapping == null || TargetCheck.check(mapping, e.getValue(), model, chunking != null);
            Object value = doc.getFieldValue(e.getKey(), Object.class, true);
            if (value == null) {
                if (ignoreMissing) {
                    continue;
                }
                throw new InvalidInputException(
                        "[embed] source field [" + e.getKey() + "] is missing or null; set ignore_missing to skip it");
            }
            List<String> own = SourceTexts.of(e.getKey(), value, chunking != null);
            texts.add(new Text(e.getValue(), own, value instanceof List, title, reuse.appliesTo(bound)));
            for (String text : own) {
                chars += text.length() + (title == null ? 0 : title.length());
            }
        }
        return new Document(wrapper, texts, chars, mapping);
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

    /** Where a vector came from, as {@link ReuseStats} counts it. */
    private enum From {
        ENCODED,
        REUSED,
        DEDUPLICATED,
        SKIPPED
    }

    /**
     * One text of a slice on its way to its vectors: its digest, then its vector (a plain target) or its passages and
     * their window digests (a chunked one), and where each came from.
     */
    private static final class Slot {
        final Document document;
        final Text text;
        String digest;
        /** Plain: the vector, once known. */
        float[] vector;
        /** Chunked: the passages, once known, and each one's window digest. */
        List<Passage> passages;
        /** Chunked pre-chunked input: each passage's element of the source array; null for a source string. */
        int[] elements;

        List<String> windows;
        /** The document carried its vectors already: nothing is written but the digest. */
        boolean kept;
        /** Chunked: the stored version's passage vectors by window digest, when its text changed. */
        Map<String, float[]> previousWindows = Map.of();
        /** Vectors by {@link From}. */
        final long[] from = new long[From.values().length];

        Slot(Document document, Text text) {
            this.document = document;
            this.text = text;
        }

        boolean resolved() {
            return kept || vector != null || passages != null;
        }

        /** How many vectors this slot writes into its document (none when kept). */
        int written() {
            if (kept) {
                return 0;
            }
            return passages != null ? passages.size() : 1;
        }
    }

    /**
     * The slices of one batch, run one after the other: each slice's bytes reserved, its texts' vectors found or
     * encoded, written back; then {@code done}. Holds the bulk's encoded vectors by digest, so that a text met again in
     * a later slice is not encoded again.
     */
    private final class Run {
        private final List<List<Document>> slices;
        private final BulkCharge charge;
        private final Runnable done;
        private final Map<String, float[]> encoded = new HashMap<>();
        /** Requests to start the next slice not yet served; one caller at a time serves them all (see next()). */
        private final AtomicInteger requested = new AtomicInteger();

        private int next;

        Run(List<List<Document>> slices, BulkCharge charge, Runnable done) {
            this.slices = slices;
            this.charge = charge;
            this.done = done;
        }

        /**
         * Starts the next slice, or runs {@code done} after the last. A slice whose vectors are all found without
         * inference completes while it is being started, and asks for the next one from within: such a request is
         * served by the loop already running, not by a call deeper in the stack, so that a bulk of many such slices
         * runs in constant stack depth, and a slice's failure handling never sees a later slice's work.
         */
        void next() {
            if (requested.getAndIncrement() > 0) {
                return;
            }
            do {
                startNext();
            } while (requested.decrementAndGet() > 0);
        }

        /** Starts the next slice that the breaker admits, failing the ones it refuses; {@code done} after the last. */
        private void startNext() {
            while (next < slices.size()) {
                List<Document> slice = slices.get(next++);
                List<Slot> slots = new ArrayList<>();
                for (Document document : slice) {
                    for (Text text : document.texts()) {
                        slots.add(new Slot(document, text));
                    }
                }
                if (chunking == null) {
                    long bytes = slots.size() * VectorBytes.perVector(dims);
                    try {
                        charge.reserve(bytes, slots.size() + " vectors of " + slice.size() + " documents");
                    } catch (CircuitBreakingException e) {
                        fail(slice, e);
                        continue;
                    }
                    vectors(slice, slots, bytes);
                } else {
                    passages(slice, slots);
                }
                return;
            }
            done.run();
        }

        /** A plain slice: digests, reuse, one encode of the distinct texts left, written back. */
        private void vectors(List<Document> slice, List<Slot> slots, long bytes) {
            inference.recipe(model, new Step<>(slice, () -> charge.release(bytes)) {
                @Override
                void run(RecipeFingerprint recipe) {
                    for (Slot slot : slots) {
                        slot.digest = Digests.text(recipe, Role.PASSAGE, slot.text.text());
                        if (slot.text.reuse()) {
                            carried(slot);
                            if (slot.resolved() == false && encoded.containsKey(slot.digest)) {
                                slot.vector = encoded.get(slot.digest);
                                slot.from[From.DEDUPLICATED.ordinal()] = 1;
                            }
                        }
                    }
                    lookup(slots, () -> encodeTexts(slice, slots, bytes));
                }
            });
        }

        private void encodeTexts(List<Document> slice, List<Slot> slots, long bytes) {
            List<Slot> pending = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            Map<String, Integer> unique = new HashMap<>();
            List<Integer> at = new ArrayList<>();
            for (Slot slot : slots) {
                if (slot.resolved()) {
                    continue;
                }
                Integer first = slot.text.reuse() ? unique.get(slot.digest) : null;
                if (first == null) {
                    first = texts.size();
                    texts.add(slot.text.text());
                    unique.putIfAbsent(slot.digest, first);
                    slot.from[From.ENCODED.ordinal()] = 1;
                } else {
                    slot.from[From.DEDUPLICATED.ordinal()] = 1;
                }
                pending.add(slot);
                at.add(first);
            }
            if (texts.isEmpty()) {
                write(slice, slots, bytes);
                return;
            }
            inference.embed(model, Role.PASSAGE, texts, new Step<>(slice, () -> charge.release(bytes)) {
                @Override
                void run(float[][] vectors) {
                    for (int i = 0; i < pending.size(); i++) {
                        Slot slot = pending.get(i);
                        slot.vector = vectors[at.get(i)];
                        encoded.putIfAbsent(slot.digest, slot.vector);
                    }
                    write(slice, slots, bytes);
                }

                @Override
                public void onFailure(Exception e) {
                    if (ModelRegistry.unwrap(e) instanceof RunMemory.TextTooLongException tooLong) {
                        withoutTooLong(slice, slots, pending, at, tooLong, bytes);
                    } else {
                        super.onFailure(e);
                    }
                }
            });
        }

        /**
         * Texts of the slice are too long to run on this node: their documents fail alone with a 400 and the rest of
         * the slice is encoded again without them, once (what they reserved is given back when the rest is written).
         */
        private void withoutTooLong(
                List<Document> slice,
                List<Slot> slots,
                List<Slot> pending,
                List<Integer> at,
                RunMemory.TextTooLongException tooLong,
                long bytes) {
            Set<Document> refused = Collections.newSetFromMap(new IdentityHashMap<>());
            for (int i = 0; i < pending.size(); i++) {
                String alone = tooLong.alone(at.get(i));
                Slot slot = pending.get(i);
                if (alone != null && refused.add(slot.document)) {
                    fail(
                            List.of(slot.document),
                            new InvalidInputException(
                                    "[embed] the text for target field [" + slot.text.target() + "]: " + alone));
                }
            }
            encodeTexts(without(slice, d -> d, refused), without(slots, s -> s.document, refused), bytes);
        }

        /** {@code items} less those of the {@code failed} documents, in order. */
        private static <T> List<T> without(List<T> items, Function<T, Document> documentOf, Set<Document> failed) {
            List<T> kept = new ArrayList<>(items.size());
            for (T item : items) {
                if (failed.contains(documentOf.apply(item)) == false) {
                    kept.add(item);
                }
            }
            return kept;
        }

        /** A chunked slice: document digests, reuse of whole documents, then cutting and reuse of windows. */
        private void passages(List<Document> slice, List<Slot> slots) {
            inference.recipe(model, new Step<>(slice, () -> {}) {
                @Override
                void run(RecipeFingerprint recipe) {
                    for (Slot slot : slots) {
                        slot.digest = Digests.document(
                                recipe,
                                Role.PASSAGE,
                                chunking,
                                slot.text.title(),
                                slot.text.texts(),
                                slot.text.elements());
                        if (slot.text.reuse()) {
                            carried(slot);
                        }
                    }
                    lookup(slots, () -> cut(slice, slots, recipe));
                }
            });
        }

        private void cut(List<Document> slice, List<Slot> slots, RecipeFingerprint recipe) {
            List<Slot> toCut = slots.stream().filter(s -> s.resolved() == false).toList();
            if (toCut.isEmpty()) {
                encodeWindows(slice, slots, List.of(), List.of(), recipe);
                return;
            }
            // every element of a pre-chunked source is cut alone, with the document's title
            List<String> texts = new ArrayList<>();
            List<String> titles = titleField == null ? null : new ArrayList<>();
            for (Slot slot : toCut) {
                texts.addAll(slot.text.texts());
                if (titles != null) {
                    slot.text.texts().forEach(t -> titles.add(slot.text.title()));
                }
            }
            inference.cutPassages(model, Role.PASSAGE, texts, titles, chunking, new Step<>(slice, () -> {}) {
                @Override
                void run(List<PassageCutter.Cut> flat) {
                    List<List<PassageCutter.Cut>> cuts = new ArrayList<>(toCut.size());
                    int at = 0;
                    for (Slot slot : toCut) {
                        int n = slot.text.texts().size();
                        cuts.add(flat.subList(at, at + n));
                        at += n;
                    }
                    Set<Document> over = overNestedLimit(slots, toCut, cuts);
                    if (over.isEmpty()) {
                        encodeWindows(slice, slots, toCut, cuts, recipe);
                        return;
                    }
                    List<List<PassageCutter.Cut>> keptCuts = new ArrayList<>(toCut.size());
                    for (int c = 0; c < toCut.size(); c++) {
                        if (over.contains(toCut.get(c).document) == false) {
                            keptCuts.add(cuts.get(c));
                        }
                    }
                    encodeWindows(
                            without(slice, d -> d, over),
                            without(slots, s -> s.document, over),
                            without(toCut, s -> s.document, over),
                            keptCuts,
                            recipe);
                }
            });
        }

        /**
         * Fails, with a 400 and before anything is reserved or encoded, each document that would hold more passages
         * than its index allows nested documents ({@code index.mapping.nested_objects.limit}): indexing would refuse
         * it after its every window had been encoded, and no retry could change that. Returns those documents.
         */
        private Set<Document> overNestedLimit(
                List<Slot> slots, List<Slot> cutSlots, List<List<PassageCutter.Cut>> cuts) {
            Map<Document, Long> passages = new IdentityHashMap<>();
            for (Slot slot : slots) {
                if (slot.passages != null) {
                    passages.merge(slot.document, (long) slot.passages.size(), Long::sum);
                }
            }
            for (int c = 0; c < cutSlots.size(); c++) {
                long n = 0;
                for (PassageCutter.Cut cut : cuts.get(c)) {
                    n += cut.tokens().length;
                }
                passages.merge(cutSlots.get(c).document, n, Long::sum);
            }
            Set<Document> over = Collections.newSetFromMap(new IdentityHashMap<>());
            passages.forEach((document, n) -> {
                WriteMapping mapping = document.mapping();
                if (mapping != null && n > mapping.nestedObjectsLimit()) {
                    over.add(document);
                    fail(
                            List.of(document),
                            new InvalidInputException("[embed] the document cuts into " + n + " passages, more than"
                                    + " index [" + mapping.index() + "] allows nested documents in one document ("
                                    + mapping.nestedObjectsLimit() + ", index.mapping.nested_objects.limit); cut"
                                    + " it into several documents, raise [chunking] [max_tokens], or raise the limit"));
                }
            });
            return over;
        }

        /**
         * Finds each window of the cut texts among the stored version's windows and the bulk's, reserves the bytes of
         * every passage the slice writes, and encodes the windows left, each distinct one once. {@code cuts} holds, per
         * cut slot, one cut per text: its source string's, or each element's of a pre-chunked array, in order.
         */
        private void encodeWindows(
                List<Document> slice,
                List<Slot> slots,
                List<Slot> cutSlots,
                List<List<PassageCutter.Cut>> cuts,
                RecipeFingerprint recipe) {
            List<Tokens> inputs = new ArrayList<>();
            Map<String, Integer> unique = new HashMap<>();
            // per cut slot: its windows in passage order, and per window its vector when known now, else its position
            // in inputs
            List<Windows> windows = new ArrayList<>();
            List<float[][]> known = new ArrayList<>();
            List<int[]> positions = new ArrayList<>();
            for (int c = 0; c < cutSlots.size(); c++) {
                Slot slot = cutSlots.get(c);
                Windows own = Windows.of(cuts.get(c), slot.text.elements());
                int n = own.tokens().length;
                float[][] vectors = new float[n][];
                int[] position = new int[n];
                slot.windows = new ArrayList<>(n);
                for (int w = 0; w < n; w++) {
                    String digest = Digests.window(recipe, own.tokens()[w]);
                    slot.windows.add(digest);
                    position[w] = -1;
                    boolean reusing = slot.text.reuse();
                    if (reusing && slot.previousWindows.containsKey(digest)) {
                        vectors[w] = slot.previousWindows.get(digest);
                        slot.from[From.REUSED.ordinal()]++;
                    } else if (reusing && encoded.containsKey(digest)) {
                        vectors[w] = encoded.get(digest);
                        slot.from[From.DEDUPLICATED.ordinal()]++;
                    } else if (reusing && unique.containsKey(digest)) {
                        position[w] = unique.get(digest);
                        slot.from[From.DEDUPLICATED.ordinal()]++;
                    } else {
                        position[w] = inputs.size();
                        unique.putIfAbsent(digest, inputs.size());
                        inputs.add(own.tokens()[w]);
                        slot.from[From.ENCODED.ordinal()]++;
                    }
                }
                windows.add(own);
                known.add(vectors);
                positions.add(position);
            }
            long bytes = 0;
            long passages = 0;
            for (Slot slot : slots) {
                int n = slot.kept
                        ? 0
                        : slot.passages != null
                                ? slot.passages.size()
                                : windows.get(cutSlots.indexOf(slot)).tokens().length;
                passages += n;
                bytes += n * VectorBytes.perPassage(dims, slot.text.elements());
            }
            long reserved = bytes;
            try {
                charge.reserve(reserved, passages + " passage vectors of " + slice.size() + " documents");
            } catch (CircuitBreakingException e) {
                fail(slice, e);
                next();
                return;
            }
            Consumer<float[][]> assemble = vectors -> {
                for (int c = 0; c < cutSlots.size(); c++) {
                    Slot slot = cutSlots.get(c);
                    Windows own = windows.get(c);
                    List<Passage> out = new ArrayList<>(own.tokens().length);
                    for (int w = 0; w < own.tokens().length; w++) {
                        int p = positions.get(c)[w];
                        float[] vector = p < 0 ? known.get(c)[w] : vectors[p];
                        if (p >= 0) {
                            encoded.putIfAbsent(slot.windows.get(w), vector);
                        }
                        out.add(new Passage(own.starts()[w], own.ends()[w], vector));
                    }
                    slot.passages = out;
                    slot.elements = own.elements();
                }
                write(slice, slots, reserved);
            };
            if (inputs.isEmpty()) {
                assemble.accept(new float[0][]);
                return;
            }
            inference.embedTokens(
                    model, inputs.toArray(Tokens[]::new), new Step<>(slice, () -> charge.release(reserved)) {
                        @Override
                        void run(float[][] vectors) {
                            assemble.accept(vectors);
                        }
                    });
        }

        /**
         * Keeps the vectors the document carries for this text when they are what its digest says: the document came
         * from {@code _reindex} or {@code _update_by_query}, or a client sent back what it read.
         */
        private void carried(Slot slot) {
            IngestDocument doc = slot.document.wrapper().getIngestDocument();
            Map<String, Object> source = doc.getSourceAndMetadata();
            String target = slot.text.target();
            if (chunking == null) {
                if (slot.digest.equals(SourceDigests.text(source, target))
                        && SourceDigests.vector(doc.getFieldValue(target, Object.class, true), dims) != null) {
                    slot.kept = true;
                    slot.from[From.SKIPPED.ordinal()] = 1;
                }
                return;
            }
            SourceDigests.Passages digests = SourceDigests.passages(source, target);
            List<SourceDigests.Passage> stored = SourceDigests.passages(
                    doc.getFieldValue(passagePath(target), Object.class, true), passageField(target), dims);
            if (digests != null
                    && slot.digest.equals(digests.document())
                    && stored != null
                    && stored.size() == digests.windows().size()) {
                slot.kept = true;
                slot.windows = digests.windows();
                slot.from[From.SKIPPED.ordinal()] = stored.size();
            }
        }

        /**
         * Reads the stored versions of the slice's documents that have texts still without vectors (one multi-get)
         * and takes from each the vectors made from the same digests; then {@code then}.
         */
        private void lookup(List<Slot> slots, Runnable then) {
            Map<PreviousVersions.Key, List<Slot>> byKey = new LinkedHashMap<>();
            for (Slot slot : slots) {
                PreviousVersions.Key key = key(slot);
                if (key != null && slot.text.reuse() && slot.resolved() == false) {
                    byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(slot);
                }
            }
            if (byKey.isEmpty() || reuse.previous().available() == false) {
                then.run();
                return;
            }
            List<String> includes = new ArrayList<>();
            includes.add(DigestsFieldMapper.NAME);
            for (String target : fieldMap.values()) {
                includes.add(chunking == null ? target : passagePath(target));
            }
            long start = System.nanoTime();
            reuse.previous()
                    .read(
                            new ArrayList<>(byKey.keySet()),
                            includes.toArray(String[]::new),
                            ActionListener.wrap(
                                    sources -> {
                                        counters.lookups.add(byKey.size());
                                        counters.lookupNanos.add(System.nanoTime() - start);
                                        sources.forEach(
                                                (key, source) -> byKey.get(key).forEach(slot -> stored(slot, source)));
                                        then.run();
                                    },
                                    e -> then.run()));
        }

        /** The stored version to read for a slot's document: by its concrete index, id and routing; null if none. */
        private PreviousVersions.Key key(Slot slot) {
            WriteMapping mapping = slot.document.mapping();
            Map<String, Object> meta =
                    slot.document.wrapper().getIngestDocument().getSourceAndMetadata();
            if (mapping == null
                    || mapping.exists() == false
                    || (meta.get(IngestDocument.Metadata.ID.getFieldName()) instanceof String) == false) {
                return null;
            }
            String id = (String) meta.get(IngestDocument.Metadata.ID.getFieldName());
            Object routing = meta.get(IngestDocument.Metadata.ROUTING.getFieldName());
            return new PreviousVersions.Key(mapping.index(), id, routing instanceof String r ? r : null);
        }

        /** Takes what a stored version holds for the slot's text under the same digest. */
        private void stored(Slot slot, Map<String, Object> source) {
            String target = slot.text.target();
            if (chunking == null) {
                float[] vector = slot.digest.equals(SourceDigests.text(source, target))
                        ? SourceDigests.vector(SourceDigests.value(source, target), dims)
                        : null;
                if (vector != null) {
                    slot.vector = vector;
                    slot.from[From.REUSED.ordinal()] = 1;
                }
                return;
            }
            SourceDigests.Passages digests = SourceDigests.passages(source, target);
            List<SourceDigests.Passage> stored = SourceDigests.passages(
                    SourceDigests.value(source, passagePath(target)), passageField(target), dims);
            if (digests == null
                    || stored == null
                    || stored.size() != digests.windows().size()) {
                return;
            }
            if (slot.digest.equals(digests.document())) {
                List<Passage> passages = new ArrayList<>(stored.size());
                int[] elements = slot.text.elements() ? new int[stored.size()] : null;
                for (int i = 0; i < stored.size(); i++) {
                    SourceDigests.Passage p = stored.get(i);
                    if (elements != null) {
                        if (p.element() < 0 || p.element() >= slot.text.texts().size()) {
                            return; // not the passages of these elements: cut them again
                        }
                        elements[i] = p.element();
                    }
                    passages.add(new Passage(p.start(), p.end(), p.vector()));
                }
                slot.passages = passages;
                slot.elements = elements;
                slot.windows = digests.windows();
                slot.from[From.REUSED.ordinal()] = stored.size();
            } else {
                Map<String, float[]> windows = new HashMap<>();
                for (int i = 0; i < stored.size(); i++) {
                    windows.putIfAbsent(digests.windows().get(i), stored.get(i).vector());
                }
                slot.previousWindows = windows;
            }
        }

        /**
         * Writes every slot's vectors and digests into its document, gives back the bytes of what was not written
         * (vectors a document carried already, a document that failed), counts, and runs the next slice.
         */
        private void write(List<Document> slice, List<Slot> slots, long bytes) {
            long used = 0;
            int at = 0;
            for (Document document : slice) {
                List<Slot> own = slots.subList(at, at + document.texts().size());
                at += own.size();
                if (write(document, own)) {
                    for (Slot slot : own) {
                        used += slot.written()
                                * (chunking == null
                                        ? VectorBytes.perVector(dims)
                                        : VectorBytes.perPassage(dims, slot.text.elements()));
                        counters.encoded.add(slot.from[From.ENCODED.ordinal()]);
                        counters.reused.add(slot.from[From.REUSED.ordinal()]);
                        counters.deduplicated.add(slot.from[From.DEDUPLICATED.ordinal()]);
                        counters.skipped.add(slot.from[From.SKIPPED.ordinal()]);
                    }
                }
            }
            charge.release(bytes - used);
            next();
        }

        /**
         * Writes each slot's value into its target of {@code document}, and its digest into {@code _embeddings}; false,
         * with the document failed alone, where a target cannot take it.
         */
        private boolean write(Document document, List<Slot> slots) {
            IngestDocument doc = document.wrapper().getIngestDocument();
            for (Slot slot : slots) {
                String target = slot.text.target();
                if (slot.kept == false) {
                    Object value = chunking == null
                            ? new VectorList(slot.vector)
                            : PassageObjects.of(passageField(target), slot.passages, slot.elements);
                    try {
                        doc.setFieldValue(chunking == null ? target : passagePath(target), value);
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
                SourceDigests.put(
                        doc.getSourceAndMetadata(),
                        target,
                        chunking == null ? slot.digest : new SourceDigests.Passages(slot.digest, slot.windows));
            }
            return true;
        }

        private void fail(List<Document> slice, Exception e) {
            for (Document document : slice) {
                document.wrapper().update(document.wrapper().getIngestDocument(), e);
            }
        }

        /**
         * One asynchronous step of a slice, completed exactly once: its result handed on, or the slice's documents
         * failed with the error, what it reserved given back ({@code failed}), and the next slice started.
         */
        private abstract class Step<T> implements ActionListener<T> {
            private final List<Document> slice;
            private final Runnable failed;

            Step(List<Document> slice, Runnable failed) {
                this.slice = slice;
                this.failed = failed;
            }

            abstract void run(T result);

            @Override
            public void onResponse(T result) {
                try {
                    run(result);
                } catch (RuntimeException e) {
                    onFailure(e);
                }
            }

            @Override
            public void onFailure(Exception e) {
                failed.run();
                fail(slice, e);
                next();
            }
        }
    }

    /**
     * The windows of one source field's value in passage order, from one cut per text (its string, or each element of a
     * pre-chunked array in order), with each window's element, or null elements for a source string.
     */
    private record Windows(Tokens[] tokens, int[] starts, int[] ends, int[] elements) {
        static Windows of(List<PassageCutter.Cut> cuts, boolean elements) {
            int n = 0;
            for (PassageCutter.Cut cut : cuts) {
                n += cut.tokens().length;
            }
            Tokens[] tokens = new Tokens[n];
            int[] starts = new int[n];
            int[] ends = new int[n];
            int[] positions = elements ? new int[n] : null;
            int at = 0;
            for (int e = 0; e < cuts.size(); e++) {
                PassageCutter.Cut cut = cuts.get(e);
                for (int w = 0; w < cut.tokens().length; w++, at++) {
                    tokens[at] = cut.tokens()[w];
                    starts[at] = cut.starts()[w];
                    ends[at] = cut.ends()[w];
                    if (positions != null) {
                        positions[at] = e;
                    }
                }
            }
            return new Windows(tokens, starts, ends, positions);
        }
    }
}

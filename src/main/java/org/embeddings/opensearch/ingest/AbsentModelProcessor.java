package org.embeddings.opensearch.ingest;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.embeddings.encoder.InvalidInputException;
import org.opensearch.OpenSearchParseException;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

/**
 * The {@code embed} processor on a node that lacks its model's files: the pipeline was validated on the cluster
 * manager, where the model is installed, and every node must still hold it.
 *
 * <p>Contract: each batch first tries to resolve the model again, so a model folder installed later takes effect
 * without a new pipeline; once resolved, it delegates to that {@link EmbedProcessor} for good. Until then each
 * document fails alone with a 400 naming the model and saying that this node lacks it.
 */
final class AbsentModelProcessor extends AbstractProcessor {
    private final EmbedProcessorFactory.Definition definition;
    private final Function<EmbedProcessorFactory.Definition, EmbedProcessor> build;
    private volatile EmbedProcessor resolved;

    AbsentModelProcessor(
            EmbedProcessorFactory.Definition definition,
            Function<EmbedProcessorFactory.Definition, EmbedProcessor> build) {
        super(definition.tag(), definition.description());
        this.definition = definition;
        this.build = build;
    }

    @Override
    public String getType() {
        return EmbedProcessor.TYPE;
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        throw new UnsupportedOperationException("the [embed] processor runs asynchronously");
    }

    @Override
    public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        EmbedProcessor processor;
        try {
            processor = resolve();
        } catch (RuntimeException e) {
            handler.accept(null, e);
            return;
        }
        processor.execute(document, handler);
    }

    @Override
    public void batchExecute(List<IngestDocumentWrapper> documents, Consumer<List<IngestDocumentWrapper>> handler) {
        EmbedProcessor processor;
        try {
            processor = resolve();
        } catch (RuntimeException e) {
            List<IngestDocumentWrapper> answers = EmbedProcessor.answers(documents);
            for (IngestDocumentWrapper document : answers) {
                document.update(document.getIngestDocument(), e);
            }
            handler.accept(answers);
            return;
        }
        processor.batchExecute(documents, handler);
    }

    private EmbedProcessor resolve() {
        EmbedProcessor processor = resolved;
        if (processor == null) {
            try {
                processor = resolved = build.apply(definition);
            } catch (IllegalArgumentException | OpenSearchParseException e) {
                throw new InvalidInputException(
                        "[embed] model ["
                                + definition.model()
                                + "] is not installed on this node, which lacks config/embeddings/models/"
                                + definition.model()
                                + "/: "
                                + e.getMessage(),
                        e);
            }
        }
        return processor;
    }
}

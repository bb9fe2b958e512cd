package org.embeddings.opensearch.highlight;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.passages.TextUnits;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;

/**
 * Fragments of a field that has no stored passages: its sentences ({@link TextUnits#sentences}, the first
 * {@value #MAX_SENTENCES} of a hit), encoded at fetch time as passages with the query's model in the query lane, and
 * scored against the query vector with the query field's similarity. The fetch phase waits for the vectors until its
 * deadline at most ({@link FetchDeadline}); past it the hit gets no fragments rather than holding the search.
 */
final class SentenceFragments {
    /** Sentences encoded per hit at most: fetch-time inference is paid per returned hit, so it is kept bounded. */
    static final int MAX_SENTENCES = 128;

    private SentenceFragments() {}

    /** The texts of the sentences of {@code texts} (an element's sentences in order, then the next element's). */
    static List<String> sentences(List<String> texts) {
        List<String> out = new ArrayList<>();
        for (String text : texts) {
            int from = 0;
            for (int end : TextUnits.sentences(text)) {
                String sentence = text.substring(from, end).strip();
                from = end;
                if (sentence.isEmpty() == false && out.size() < MAX_SENTENCES) {
                    out.add(sentence);
                }
            }
        }
        return out;
    }

    /**
     * The scored sentences of {@code texts}, or null when their vectors did not come within {@code remainingNanos}.
     */
    static List<Fragment> score(
            InferenceService inference,
            String model,
            List<String> texts,
            float[] query,
            VectorSimilarityFunction similarity,
            long remainingNanos) {
        List<String> sentences = sentences(texts);
        if (sentences.isEmpty() || remainingNanos <= 0) {
            return null;
        }
        CompletableFuture<float[][]> vectors = new CompletableFuture<>();
        inference.embedInteractive(
                model, Role.PASSAGE, sentences, ActionListener.wrap(vectors::complete, vectors::completeExceptionally));
        float[][] encoded;
        try {
            encoded = vectors.get(remainingNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OpenSearchStatusException(
                    "interrupted while encoding sentences to highlight", RestStatus.INTERNAL_SERVER_ERROR, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
        List<Fragment> out = new ArrayList<>(sentences.size());
        for (int i = 0; i < sentences.size(); i++) {
            out.add(new Fragment(sentences.get(i), similarity.compare(query, encoded[i]), i));
        }
        return out;
    }
}

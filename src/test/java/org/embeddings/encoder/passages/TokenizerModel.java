package org.embeddings.encoder.passages;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.embeddings.encoder.ModelTokenizer;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.models.ModelRegistry;

/**
 * A model's card and tokenizer without its ONNX session, for the cutter's tests, with an independent tokenizer that
 * never truncates, to count what a window holds against what the cutter counted.
 */
record TokenizerModel(ModelCard card, ModelTokenizer tokenizer, HuggingFaceTokenizer independent)
        implements AutoCloseable {
    static TokenizerModel of(ModelRegistry registry, Path models, String name) throws IOException {
        ModelCard card = registry.installedCard(name);
        Path json = models.resolve(name).resolve("tokenizer.json");
        HuggingFaceTokenizer plain = HuggingFaceTokenizer.builder()
                .optTokenizerPath(json)
                .optAddSpecialTokens(true)
                .optTruncation(false)
                .optPadding(false)
                .build();
        return new TokenizerModel(card, new ModelTokenizer(json, card.maxTokens()), plain);
    }

    /** The passages {@code chunking} cuts from {@code texts}, for the passage role. */
    List<PassageCutter.Cut> cut(List<String> texts, Chunking chunking) {
        return new PassageCutter(tokenizer, card.prompt(), Role.PASSAGE, chunking, TextWindows.Ends.DEFAULT).cut(texts);
    }

    /** The window's token count as the model reads it, by a tokenizer that never truncates. */
    int inputTokens(String window) {
        return independent.encode(card.prompt().apply(Role.PASSAGE, window)).getIds().length;
    }

    /** The text's own tokens, without the prompt or special tokens. */
    int textTokens(String text) {
        return independent.encode(text, false, false).getIds().length;
    }

    @Override
    public void close() {
        tokenizer.close();
        independent.close();
    }
}

package org.embeddings.encoder;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A model's own tokenizer ({@code tokenizer.json}, Hugging Face tokenizers through DJL), with special tokens added
 * and truncation to the card's token limit, and no padding: the batcher pads, knowing the whole batch. Long text
 * is truncated, never refused.
 */
public final class ModelTokenizer implements Closeable {
    private final HuggingFaceTokenizer tokenizer;

    public ModelTokenizer(Path tokenizerJson, int maxTokens) {
        try {
            this.tokenizer = NativeLibraries.withTokenizerEnvironment(
                // DJL caps maxLength at modelMaxLength, 512 unless told, with no more than a log line: an 8192-token
                // model would silently read 512. The card's limit is the model's limit, so it is both.
                () -> HuggingFaceTokenizer.builder(Map.of("modelMaxLength", maxTokens))
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(true)
                    .optTruncation(true)
                    .optMaxLength(maxTokens)
                    .optPadding(false)
                    .build()
            );
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot load tokenizer [" + tokenizerJson + "]: " + e.getMessage(), e);
        }
    }

    public Tokens[] tokenize(List<String> texts) {
        Encoding[] encodings = tokenizer.batchEncode(texts, true, false);
        Tokens[] out = new Tokens[encodings.length];
        for (int i = 0; i < encodings.length; i++) {
            out[i] = new Tokens(encodings[i].getIds(), encodings[i].getTypeIds());
        }
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}

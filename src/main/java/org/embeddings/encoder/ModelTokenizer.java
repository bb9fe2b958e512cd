package org.embeddings.encoder;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model's own tokenizer ({@code tokenizer.json}, Hugging Face tokenizers through DJL), with special tokens added
 * and truncation to the card's token limit, and no padding: the batcher pads, knowing the whole batch. Long text
 * is truncated, never refused.
 *
 * <p>A second instance of the same tokenizer, without truncation or special tokens, gives the character span of
 * every token of a whole text ({@link #spans}), from which passage windows are cut.
 */
public final class ModelTokenizer implements Closeable {
    private final HuggingFaceTokenizer tokenizer;
    private final HuggingFaceTokenizer spanTokenizer;

    /** Where each token of a text lies: token {@code i} spans UTF-16 offsets {@code [starts[i], ends[i])}. */
    public record Spans(int[] starts, int[] ends) {
        public int length() {
            return starts.length;
        }
    }

    public ModelTokenizer(Path tokenizerJson, int maxTokens) {
        HuggingFaceTokenizer truncating = null;
        try {
            // DJL caps maxLength at modelMaxLength, 512 unless told, with no more than a log line: an 8192-token
            // model would silently read 512. The card's limit is the model's limit, so it is both.
            truncating = build(tokenizerJson, maxTokens, true);
            this.tokenizer = truncating;
            this.spanTokenizer = build(tokenizerJson, maxTokens, false);
        } catch (IOException | RuntimeException e) {
            if (truncating != null) {
                truncating.close();
            }
            throw new ModelLoadException("cannot load tokenizer [" + tokenizerJson + "]: " + e.getMessage(), e);
        }
    }

    private static HuggingFaceTokenizer build(Path tokenizerJson, int maxTokens, boolean modelInput)
            throws IOException {
        return NativeLibraries.withTokenizerEnvironment(
                () -> HuggingFaceTokenizer.builder(Map.of("modelMaxLength", maxTokens))
                        .optTokenizerPath(tokenizerJson)
                        .optAddSpecialTokens(modelInput)
                        .optTruncation(modelInput)
                        .optMaxLength(maxTokens)
                        .optPadding(false)
                        .build());
    }

    /**
     * Tokenizes model inputs as {@link #tokenize} does, but gives null for a text that takes more than
     * {@code limit} tokens (special tokens included) instead of truncating it.
     */
    public Tokens[] tokenizeWithin(List<String> texts, int limit) {
        Encoding[] encodings = tokenizer.batchEncode(texts, true, false);
        Tokens[] out = new Tokens[encodings.length];
        for (int i = 0; i < encodings.length; i++) {
            long[] ids = encodings[i].getIds();
            if (encodings[i].exceedMaxLength() == false && ids.length <= limit) {
                out[i] = new Tokens(ids, encodings[i].getTypeIds());
            }
        }
        return out;
    }

    /** The spans of all tokens of {@code text}, untruncated and without special tokens. */
    public Spans spans(String text) {
        Encoding encoding = spanTokenizer.encode(text, false, false);
        CharSpan[] spans = encoding.getCharTokenSpans();
        // Hugging Face tokenizers count characters as Unicode code points; Java strings index UTF-16 units.
        int[] utf16 = text.length() == text.codePointCount(0, text.length()) ? null : codePointOffsets(text);
        int[] starts = new int[spans.length];
        int[] ends = new int[spans.length];
        int kept = 0;
        for (CharSpan span : spans) {
            if (span == null || span.getEnd() <= span.getStart()) {
                continue; // a token with no text of its own adds nothing to cut at
            }
            starts[kept] = utf16 == null ? span.getStart() : utf16[span.getStart()];
            ends[kept] = utf16 == null ? span.getEnd() : utf16[span.getEnd()];
            kept++;
        }
        return new Spans(Arrays.copyOf(starts, kept), Arrays.copyOf(ends, kept));
    }

    private static int[] codePointOffsets(String text) {
        int[] offsets = new int[text.codePointCount(0, text.length()) + 1];
        int cp = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            offsets[cp++] = i;
        }
        offsets[cp] = text.length();
        return offsets;
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
        try {
            tokenizer.close();
        } finally {
            spanTokenizer.close();
        }
    }
}

package org.embeddings.encoder;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model's own tokenizer ({@code tokenizer.json}, Hugging Face tokenizers through DJL), with special tokens added
 * and truncation to the card's token limit, and no padding: the batcher pads, knowing the whole batch. Long text
 * is truncated, never refused.
 *
 * <p>A text far longer than the model reads is not handed to the tokenizer whole (a 512 KB text took 300 ms of the
 * model's native thread, for 512 tokens): {@link #tokenize} first tokenizes a prefix of {@link #readWindow} characters,
 * doubling it until the prefix was truncated and its last kept token ends before the prefix's last run of white
 * space. Tokenizers split words at white space before they look inside them (BERT's WordPiece, byte-level BPE,
 * SentencePiece's metaspace), so the tokens of the words before that run do not depend on what follows it, and the
 * prefix's tokens are exactly the whole text's. A text without such a prefix (no white space, or left truncation) is
 * tokenized whole, as before.
 *
 * <p>A second instance of the same tokenizer, without truncation or special tokens, gives the character span of
 * every token of a whole text ({@link #spans}), from which passage windows are cut.
 */
public final class ModelTokenizer implements Closeable {
    private final HuggingFaceTokenizer tokenizer;
    private final HuggingFaceTokenizer spanTokenizer;
    private final int readWindow;

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
            this.readWindow = readWindow(maxTokens);
            this.spanTokenizer = build(tokenizerJson, maxTokens, false);
        } catch (IOException | RuntimeException e) {
            if (truncating != null) {
                truncating.close();
            }
            String resource = LoadFailures.resource(e);
            if (resource != null) {
                throw new ModelUnavailableException("cannot read " + tokenizerJson.getFileName() + ": " + resource, e);
            }
            String why = new PathRedaction()
                    .with(tokenizerJson.getParent(), "the model's folder")
                    .apply(e.getMessage());
            throw new ModelLoadException("cannot load " + tokenizerJson.getFileName() + ": " + why, e);
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
        Encoding[] encodings = encode(texts);
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

    /** The first prefix a long text is tokenized in: 16 characters per token the model reads, at least 4,096. */
    static int readWindow(int maxTokens) {
        return Math.max(4096, maxTokens * 16);
    }

    /** The model's input for each text: special tokens added, truncated to the model's limit. */
    public Tokens[] tokenize(List<String> texts) {
        Tokens[] out = new Tokens[texts.size()];
        List<String> whole = new ArrayList<>(texts.size());
        List<Integer> at = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            Tokens read = text.length() > readWindow ? tokenizeReadPrefix(text) : null;
            if (read != null) {
                out[i] = read;
            } else {
                whole.add(text);
                at.add(i);
            }
        }
        if (whole.isEmpty() == false) {
            Encoding[] encodings = encode(whole);
            for (int i = 0; i < encodings.length; i++) {
                out[at.get(i)] = new Tokens(encodings[i].getIds(), encodings[i].getTypeIds());
            }
        }
        return out;
    }

    /**
     * The encodings of {@code texts}, in order. One text (a lone query) is encoded on the calling thread: the batch
     * call hands even one text to the tokenizer library's own thread pool and waits for it, a wake-up that cost a
     * lone SciFact query about 0.15 ms at p50 here when the call came after a 10 ms pause, as a node's queries do.
     */
    private Encoding[] encode(List<String> texts) {
        return texts.size() == 1
                ? new Encoding[] {tokenizer.encode(texts.get(0), true, false)}
                : tokenizer.batchEncode(texts, true, false);
    }

    /** Each text tokenized whole, without the read prefix: the reference {@link #tokenize} must equal. */
    Tokens[] tokenizeWhole(List<String> texts) {
        Encoding[] encodings = tokenizer.batchEncode(texts, true, false);
        Tokens[] out = new Tokens[encodings.length];
        for (int i = 0; i < encodings.length; i++) {
            out[i] = new Tokens(encodings[i].getIds(), encodings[i].getTypeIds());
        }
        return out;
    }

    /**
     * The tokens of a long text from a prefix that holds all the model reads (see the class notes), or null when no
     * prefix shorter than the text does.
     */
    private Tokens tokenizeReadPrefix(String text) {
        for (long cut = readWindow; cut < text.length(); cut *= 2) {
            int end = (int) cut;
            if (Character.isHighSurrogate(text.charAt(end - 1))) {
                end--;
            }
            String prefix = text.substring(0, end);
            int boundary = lastWhitespaceRun(prefix);
            if (boundary <= 0) {
                continue;
            }
            Encoding encoding = tokenizer.encode(prefix, true, false);
            if (encoding.exceedMaxLength() && lastEnd(encoding) <= prefix.codePointCount(0, boundary)) {
                return new Tokens(encoding.getIds(), encoding.getTypeIds());
            }
        }
        return null;
    }

    /** Where the last run of white space in {@code text} starts (UTF-16 index), or -1 when there is none. */
    static int lastWhitespaceRun(String text) {
        int i = text.length();
        while (i > 0 && Character.isWhitespace(text.charAt(i - 1)) == false) {
            i--;
        }
        if (i == 0) {
            return -1;
        }
        while (i > 0 && Character.isWhitespace(text.charAt(i - 1))) {
            i--;
        }
        return i;
    }

    /** The end (in code points) of the last token with text of its own. */
    private static int lastEnd(Encoding encoding) {
        int end = 0;
        for (CharSpan span : encoding.getCharTokenSpans()) {
            if (span != null) {
                end = Math.max(end, span.getEnd());
            }
        }
        return end;
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

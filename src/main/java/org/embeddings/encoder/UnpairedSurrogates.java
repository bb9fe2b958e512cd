package org.embeddings.encoder;

import java.util.ArrayList;
import java.util.List;

/**
 * Replaces each unpaired UTF-16 surrogate of a text with U+FFFD, the replacement character, before the tokenizer
 * sees it.
 *
 * <p>Why: JSON may carry a lone surrogate ({@code "\ud83d"}), and a Java string holds it, but the tokenizer's native
 * side reads text as UTF-8, where it has no encoding: it arrived there as three replacement characters, so token
 * offsets counted three code points where Java counts one, and passage spans ran past the text's end (a 500 for
 * the whole bulk). Lucene does the same when it indexes such text: {@code UnicodeUtil} writes U+FFFD for it.
 *
 * <p>Contract: one UTF-16 unit is replaced by one, so every offset into the replaced text is the same offset into the
 * original; spans computed on the replaced text index the stored text. A text without unpaired surrogates is returned
 * as the same instance, after one scan.
 */
public final class UnpairedSurrogates {
    static final char REPLACEMENT = '\uFFFD';

    private UnpairedSurrogates() {}

    public static String replace(String text) {
        if (text == null) {
            return null;
        }
        char[] chars = null;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++; // a pair
            } else if (Character.isSurrogate(c)) {
                if (chars == null) {
                    chars = text.toCharArray();
                }
                chars[i] = REPLACEMENT;
            }
        }
        return chars == null ? text : new String(chars);
    }

    /** {@link #replace} on each text; the same list when none needed it. */
    public static List<String> replace(List<String> texts) {
        if (texts == null) {
            return null;
        }
        List<String> out = null;
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            String replaced = replace(text);
            if (replaced != text && out == null) {
                out = new ArrayList<>(texts);
            }
            if (out != null) {
                out.set(i, replaced);
            }
        }
        return out == null ? texts : out;
    }
}

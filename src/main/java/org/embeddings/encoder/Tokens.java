package org.embeddings.encoder;

/** One text's token ids and token type ids, truncated and unpadded; the attention mask is implied (all real). */
public record Tokens(long[] ids, long[] typeIds) {
    public int length() {
        return ids.length;
    }
}

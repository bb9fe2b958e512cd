package org.embeddings.opensearch.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.Tokens;
import org.embeddings.encoder.models.RecipeFingerprint;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.encoder.passages.ChunkingStrategy;

/**
 * What a vector was made from, as 22 characters: the first 128 bits of a SHA-256, in URL-safe base64. Two equal
 * digests mean the same model recipe ({@link RecipeFingerprint}) read the same input, so the vector of one stands for
 * the other; the {@code embed} processor writes them beside the vectors ({@code _embeddings} in the source) and
 * compares them before it encodes anything.
 *
 * <p>Three kinds, each hashed with its own tag so that none equals another:
 * <ul>
 *   <li>{@link #text}: a whole text for a role (the model's prompt and token limit are in the recipe);</li>
 *   <li>{@link #document}: a text (or a pre-chunked array's elements, each at its position) to be cut into
 *       passages, with its title and the chunking strategy and options: equal when every passage would be the same,
 *       so that none need be cut again;</li>
 *   <li>{@link #window}: one passage window as the model reads it, its token ids (prompt, title and special tokens
 *       included), which is all that decides its vector; the same window text found at another place of a changed
 *       document has the same digest.</li>
 * </ul>
 * Hashing costs about a microsecond per kilobyte of text.
 */
final class Digests {
    private static final byte TEXT = 't', DOCUMENT = 'd', WINDOW = 'w';
    private static final byte STRING = 's', ARRAY = 'a';
    /**
     * The version of the code that cuts texts into windows ({@link org.embeddings.encoder.passages.PassageCutter} and the
     * strategies): raised when the same text and options would be cut differently, so that documents are cut again.
     */
    static final int CUTTING_VERSION = 1;

    private Digests() {}

    static String text(RecipeFingerprint recipe, Role role, String text) {
        MessageDigest digest = start(recipe, TEXT);
        update(digest, role.name());
        update(digest, text);
        return finish(digest);
    }

    /**
     * A source field's value to be cut into passages: {@code texts} is its string, or with {@code elements} the
     * elements of a pre-chunked array, each at its position (an array of one element is not its string: its passages
     * carry an element). {@code title} null: none. The chunking by value: its strategy and the strategy's own options
     * ({@code overlap_sentences}, {@code delimiter}), {@code max_tokens}, {@code overlap_tokens}, {@code whole_tokens}
     * and {@code lead_sentence}, and whatever options chunking gains (its record's text); and the version of the
     * cutting code, which decides windows as much as the options do.
     */
    static String document(
            RecipeFingerprint recipe,
            Role role,
            Chunking chunking,
            String title,
            List<String> texts,
            boolean elements) {
        MessageDigest digest = start(recipe, DOCUMENT);
        putInt(digest, CUTTING_VERSION);
        update(digest, role.name());
        chunking(digest, chunking);
        digest.update((byte) (title == null ? 0 : 1));
        update(digest, title == null ? "" : title);
        digest.update(elements ? ARRAY : STRING);
        putInt(digest, texts.size());
        for (int i = 0; i < texts.size(); i++) {
            putInt(digest, i);
            update(digest, texts.get(i));
        }
        return finish(digest);
    }

    /** Every option of {@code chunking}, each in its own field, so that no two choices hash alike. */
    private static void chunking(MessageDigest digest, Chunking chunking) {
        ChunkingStrategy strategy = chunking.strategy();
        update(digest, strategy.label());
        switch (strategy) {
            case ChunkingStrategy.ByTokens tokens -> {}
            case ChunkingStrategy.BySentences sentences -> putInt(digest, sentences.overlapSentences());
            case ChunkingStrategy.ByDelimiter delimiter -> update(digest, delimiter.delimiter());
        }
        putInt(digest, chunking.maxTokens());
        putInt(digest, chunking.overlapTokens());
        putInt(digest, chunking.wholeTokens());
        digest.update((byte) (chunking.leads() ? 1 : 0));
        update(digest, String.valueOf(chunking)); // an option added later changes digests even if not listed above
    }

    static String window(RecipeFingerprint recipe, Tokens tokens) {
        MessageDigest digest = start(recipe, WINDOW);
        ByteBuffer buffer = ByteBuffer.allocate(16 * tokens.length() + 4);
        buffer.putInt(tokens.length());
        for (int i = 0; i < tokens.length(); i++) {
            buffer.putLong(tokens.ids()[i]).putLong(tokens.typeIds()[i]);
        }
        digest.update(buffer.array(), 0, buffer.position());
        return finish(digest);
    }

    private static MessageDigest start(RecipeFingerprint recipe, byte kind) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            recipe.update(digest);
            digest.update(kind);
            return digest;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putInt(MessageDigest digest, int value) {
        digest.update(ByteBuffer.allocate(4).putInt(value).array());
    }

    /** A string with its length first, so that no two sequences of strings hash alike. */
    private static void update(MessageDigest digest, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        digest.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        digest.update(bytes);
    }

    private static String finish(MessageDigest digest) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest.digest(), 16));
    }
}

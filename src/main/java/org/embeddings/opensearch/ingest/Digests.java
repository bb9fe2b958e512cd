package org.embeddings.opensearch.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import org.embeddings.encoder.Chunking;
import org.embeddings.encoder.RecipeFingerprint;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.Tokens;

/**
 * What a vector was made from, as 22 characters: the first 128 bits of a SHA-256, in URL-safe base64. Two equal
 * digests mean the same model recipe ({@link RecipeFingerprint}) read the same input, so the vector of one stands for
 * the other; the {@code embed} processor writes them beside the vectors ({@code _embeddings} in the source) and
 * compares them before it encodes anything.
 *
 * <p>Three kinds, each hashed with its own tag so that none equals another:
 * <ul>
 *   <li>{@link #text}: a whole text for a role (the model's prompt and token limit are in the recipe);</li>
 *   <li>{@link #document}: a text to be cut into passages, with its title and the chunking options: equal when
 *       every passage would be the same, so that none need be cut again;</li>
 *   <li>{@link #window}: one passage window as the model reads it, its token ids (prompt, title and special tokens
 *       included), which is all that decides its vector; the same window text found at another place of a changed
 *       document has the same digest.</li>
 * </ul>
 * Hashing costs about a microsecond per kilobyte of text.
 */
final class Digests {
    private static final byte TEXT = 't', DOCUMENT = 'd', WINDOW = 'w';

    private Digests() {}

    static String text(RecipeFingerprint recipe, Role role, String text) {
        MessageDigest digest = start(recipe, TEXT);
        update(digest, role.name());
        update(digest, text);
        return finish(digest);
    }

    /** {@code title} null: none; the chunking options by value, whatever options chunking gains. */
    static String document(RecipeFingerprint recipe, Role role, Chunking chunking, String title, String text) {
        MessageDigest digest = start(recipe, DOCUMENT);
        update(digest, role.name());
        update(digest, String.valueOf(chunking));
        digest.update((byte) (title == null ? 0 : 1));
        update(digest, title == null ? "" : title);
        update(digest, text);
        return finish(digest);
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

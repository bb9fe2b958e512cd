package org.embeddings.encoder;

/**
 * What a text is for. Asymmetric retrieval models were trained with different text in front of queries and
 * passages, so every caller names the role; {@link #NONE} is symmetric use (similarity, clustering).
 */
public enum Role {
    QUERY,
    PASSAGE,
    NONE;

    /** Parses a role name case-insensitively; names the accepted values when it is none of them. */
    public static Role of(String name) {
        return Labels.parse(Role.class, "role", name);
    }

    public String label() {
        return Labels.of(this);
    }
}

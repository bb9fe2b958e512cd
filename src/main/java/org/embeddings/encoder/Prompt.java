package org.embeddings.encoder;

/**
 * The text a model expects around a query, a passage or a symmetric text. Each part is either a plain prefix
 * ({@code "query: "}) or a template holding {@value #SLOT} ({@code "Instruct: ...\nQuery: {text}"}); an empty part
 * leaves the text as it is.
 */
public record Prompt(String query, String passage, String none) {
    public static final String SLOT = "{text}";

    public Prompt {
        query = query == null ? "" : query;
        passage = passage == null ? "" : passage;
        none = none == null ? "" : none;
    }

    public String apply(Role role, String text) {
        String part = switch (role) {
            case QUERY -> query;
            case PASSAGE -> passage;
            case NONE -> none;
        };
        if (part.isEmpty()) {
            return text;
        }
        int slot = part.indexOf(SLOT);
        return slot < 0 ? part + text : part.substring(0, slot) + text + part.substring(slot + SLOT.length());
    }
}

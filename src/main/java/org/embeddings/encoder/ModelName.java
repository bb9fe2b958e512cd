package org.embeddings.encoder;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Model names are Hugging Face model names without the organisation, in lower case ({@code bge-small-en-v1.5}).
 * A name is also a folder name under the model directories, so anything that could leave that directory
 * (separators, {@code ..}, a leading dot) is refused here, before any path is built from it.
 */
public final class ModelName {
    private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,127}");

    private ModelName() {}

    /** Lower-cases a user-typed name and checks it. */
    public static String normalize(String name) {
        if (name == null || name.isBlank()) {
            throw new InvalidInputException("model name is missing");
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        check(n);
        return n;
    }

    public static void check(String name) {
        if (name == null || VALID.matcher(name).matches() == false || name.contains("..")) {
            throw new InvalidInputException(
                    "invalid model name [" + name + "]: expected a Hugging Face model name without organisation, "
                            + "letters, digits, '.', '_' and '-' only");
        }
    }
}

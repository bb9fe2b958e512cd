package org.embeddings.encoder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Takes known directories out of a message from a library (ONNX Runtime, the tokenizer, the file system), so that it
 * can go to a client: a file inside one of them becomes its name relative to it, and the directory itself its label
 * ({@code "the model's folder"}). Only the directories it was given are recognised; it is not a guess at what looks
 * like a path, so callers build client messages from their own words and pass library messages through this only
 * where a library's words are worth keeping.
 */
public final class PathRedaction {
    private record Known(String path, String label) {}

    private final List<Known> known = new ArrayList<>();

    /** Adds a directory and the words that replace it; a file inside it is shown by its relative name. */
    public PathRedaction with(Path directory, String label) {
        if (directory != null) {
            known.add(new Known(directory.toString(), label));
            Path absolute = directory.toAbsolutePath().normalize();
            if (absolute.toString().equals(directory.toString()) == false) {
                known.add(new Known(absolute.toString(), label));
            }
        }
        // longest first, so that a directory inside another is replaced before its parent
        known.sort(Comparator.comparingInt((Known k) -> k.path().length()).reversed());
        return this;
    }

    public String apply(String message) {
        if (message == null) {
            return "";
        }
        String out = message;
        for (Known k : known) {
            if (k.path().isEmpty() || k.path().equals("/")) {
                continue;
            }
            out = out.replace(k.path() + "/", "").replace(k.path(), k.label());
        }
        return out;
    }
}

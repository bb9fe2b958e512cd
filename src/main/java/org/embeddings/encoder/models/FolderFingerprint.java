package org.embeddings.encoder.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The name, size and modification time of every file in a model folder and its direct sub-folders (where
 * sentence-transformers keeps its pooling config), and the content hash of the small ones (cards and configs, which
 * an operator may fix in place within the clock's resolution): equal fingerprints mean nothing was changed, replaced
 * or added, so a load that failed would fail again. Taking one costs a directory listing and reading a few small
 * files, never the model's weights.
 */
public record FolderFingerprint(List<String> entries) {
    private static final long SMALL_FILE = 1 << 20;

    public static FolderFingerprint of(Path folder) {
        List<String> entries = new ArrayList<>();
        try (Stream<Path> files = Files.walk(folder, 2)) {
            files.sorted().forEach(f -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                    if (a.isRegularFile()) {
                        String content = a.size() <= SMALL_FILE ? ":" + Arrays.hashCode(Files.readAllBytes(f)) : "";
                        entries.add(folder.relativize(f) + ":" + a.size() + ":"
                                + a.lastModifiedTime().toMillis() + content);
                    }
                } catch (IOException e) {
                    entries.add(folder.relativize(f) + ":unreadable");
                }
            });
        } catch (IOException | RuntimeException e) {
            entries.add("unlistable:" + e.getMessage());
        }
        return new FolderFingerprint(List.copyOf(entries));
    }
}

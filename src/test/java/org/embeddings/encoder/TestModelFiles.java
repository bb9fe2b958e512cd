package org.embeddings.encoder;

import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.embeddings.encoder.models.ModelFolders;

/**
 * The real model folders the build lays out from Maven Central ({@code embeddings.test.models}), for tests that
 * need them. Outside CI a missing folder skips the test (a checkout that has not run {@code mvn
 * generate-resources}); in CI ({@code CI=true}), where the build always lays them out, it fails: a download that
 * went wrong must not pass as green.
 */
public final class TestModelFiles {
    private TestModelFiles() {}

    /** The folder of {@code model}, holding its {@code model.onnx} and {@code tokenizer.json}. */
    public static Path folder(String model) {
        String dir = System.getProperty("embeddings.test.models");
        Path folder = dir == null ? null : Path.of(dir).resolve(model);
        boolean present = folder != null && Files.isRegularFile(folder.resolve(ModelFolders.ONNX_FILE));
        String why = "no model folder [" + model + "] under embeddings.test.models [" + dir + "]";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            if (present == false) {
                throw new AssertionError(why + "; CI lays the models out in generate-resources");
            }
        } else {
            assumeTrue(why + "; run mvn generate-resources", present);
        }
        return folder;
    }

    /** Links {@code model}'s files into {@code root/model}, the way a user installs a model. */
    public static void link(String model, Path root) throws IOException {
        link(model, root, model);
    }

    /** Links {@code model}'s files into {@code root/name}. */
    public static void link(String model, Path root, String name) throws IOException {
        Path source = folder(model);
        Path target = Files.createDirectories(root.resolve(name));
        for (String file : List.of(ModelFolders.ONNX_FILE, ModelFolders.TOKENIZER_FILE)) {
            Files.createLink(target.resolve(file), source.resolve(file));
        }
    }
}

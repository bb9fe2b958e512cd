package org.embeddings.opensearch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.opensearch.env.Environment;

/** Installs a model into an in-JVM test node the way a user does: its files in config/embeddings/models/<name>/. */
final class TestModels {
    private TestModels() {}

    static void install(Environment environment, String model) throws IOException {
        Path source = Path.of(System.getProperty("embeddings.test.models")).resolve(model);
        // The test framework wraps the node's paths in its own file system; link through the real one.
        Path configDir = Path.of(environment.configDir().toString());
        Path target = configDir.resolve(EmbeddingsPlugin.MODELS_DIR).resolve(model);
        if (Files.exists(target.resolve("model.onnx"))) {
            return;
        }
        Files.createDirectories(target);
        for (String file : List.of("model.onnx", "tokenizer.json")) {
            Files.createLink(target.resolve(file), source.resolve(file));
        }
    }
}

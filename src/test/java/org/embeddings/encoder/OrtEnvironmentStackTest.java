package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.embeddings.encoder.card.ModelCard;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Loading a model on a 1 MB thread (OpenSearch's {@code -Xss1m}) in a JVM with a long command line. Creating ONNX
 * Runtime's environment takes native stack in proportion to the command line, and running out of it is a SIGSEGV
 * that ends the JVM, so the load runs in a child JVM whose exit status is the verdict.
 */
public class OrtEnvironmentStackTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Child JVM: loads the tiny model at args[0] on a thread with a 1 MB stack, prints "loaded". */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            ModelCard card = ModelCard.fromJson(
                    JsonParser.parseString("{\"name\": \"tiny\", \"dims\": 2, \"pooling\": \"mean\"}")
                            .getAsJsonObject());
            Thread thread = new Thread(
                    null,
                    () -> {
                        try (OnnxModel model = new OnnxModel(Path.of(args[0]), card, new SessionSettings(1, false))) {
                            System.out.println("loaded");
                        }
                    },
                    "one-megabyte",
                    1L << 20);
            thread.start();
            thread.join();
        }
    }

    @Test
    public void aModelLoadsOnAOneMegabyteThreadUnderALongCommandLine() throws IOException, InterruptedException {
        Path onnx = tmp.newFile("tiny.onnx").toPath();
        float[][] table = {{1, 2}, {3, 4}, {5, 6}};
        Files.write(onnx, TinyOnnx.model(table, table, List.of("input_ids", "attention_mask"), "last_hidden_state", 3));
        // 16,000 characters: four times what crashed a 1 MB thread when the environment was created on it.
        String padding = "x".repeat(16_000);
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xss1m",
                        "-Dpadding=" + padding,
                        "-cp",
                        System.getProperty("java.class.path"),
                        Child.class.getName(),
                        onnx.toString())
                .redirectErrorStream(true)
                .start();
        assertTrue("child JVM finished", child.waitFor(120, TimeUnit.SECONDS));
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals("child JVM exit status (139 is SIGSEGV); output:\n" + output, 0, child.exitValue());
        assertTrue(output, output.lines().anyMatch("loaded"::equals));
    }
}

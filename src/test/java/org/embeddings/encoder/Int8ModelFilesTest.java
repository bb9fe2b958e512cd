package org.embeddings.encoder;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The quantized-file cache: the first call builds and writes the int8 file, the next finds it by the source's
 * checksum without quantizing, a changed source gets another file (and the stale one is deleted), nothing temporary
 * is left behind, and a source with nothing to quantize fails naming the model.
 */
public class Int8ModelFilesTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static byte[] linear(float[] w) {
        return Int8QuantizerTest.model(
                List.of(Int8QuantizerTest.node("MatMul", List.of("x", "w"), "y")),
                List.of(Int8QuantizerTest.floats("w", w, 16, 8)),
                "y");
    }

    private static float[] weights(float seed) {
        float[] w = new float[16 * 8];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) Math.sin(seed + i * 0.37);
        }
        return w;
    }

    @Test
    public void buildsOnceThenReusesByChecksumAndRebuildsAChangedSource() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Path dir = tmp.getRoot().toPath().resolve("int8");
        Files.write(source, linear(weights(1)));
        Int8ModelFiles files = new Int8ModelFiles(dir, Int8Quantizer.recipe());

        Int8ModelFiles.Outcome first = files.file("tiny", source);
        assertFalse(first.cached());
        assertEquals(1, first.result().quantized());
        assertTrue(first.file()
                .getFileName()
                .toString()
                .matches("tiny-[0-9a-f]{64}-v" + Int8Quantizer.VERSION + "\\.onnx"));
        assertArrayEquals(
                Int8Quantizer.recipe().quantize(Files.readAllBytes(source)).model(), Files.readAllBytes(first.file()));

        Int8ModelFiles.Outcome again = new Int8ModelFiles(dir, Int8Quantizer.recipe()).file("tiny", source);
        assertTrue("a second registry (a node restart) finds the file", again.cached());
        assertEquals(first.file(), again.file());
        assertEquals(null, again.result());

        Files.write(source, linear(weights(2))); // the operator replaced the model's file
        Int8ModelFiles.Outcome changed = files.file("tiny", source);
        assertFalse(changed.cached());
        assertNotEquals(first.file(), changed.file());
        assertFalse("the stale file is deleted", Files.exists(first.file()));
        try (var listing = Files.list(dir)) {
            assertEquals("one file, nothing temporary", List.of(changed.file()), listing.toList());
        }
    }

    @Test
    public void aCardsFp32PatternKeepsItsMatmulsFp32UnderItsOwnKey() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        float[] square = new float[16 * 16];
        for (int i = 0; i < square.length; i++) {
            square[i] = (float) Math.cos(i * 0.11);
        }
        Files.write(
                source,
                Int8QuantizerTest.model(
                        List.of(
                                Int8QuantizerTest.node("MatMul", List.of("x", "w1"), "h"),
                                Int8QuantizerTest.node("MatMul", List.of("h", "w2"), "y")),
                        List.of(
                                Int8QuantizerTest.floats("w1", square, 16, 16),
                                Int8QuantizerTest.floats("w2", weights(4), 16, 8)),
                        "y"));
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"), Int8Quantizer.recipe());
        Int8ModelFiles.Outcome standard = files.file("tiny", source);
        assertEquals(2, standard.result().quantized());
        java.util.concurrent.atomic.AtomicInteger calibrations = new java.util.concurrent.atomic.AtomicInteger();
        java.util.function.Function<byte[], ActivationRanges> calibration = fp32 -> {
            calibrations.incrementAndGet();
            return ActivationRanges.NONE;
        };
        Int8ModelFiles.Outcome kept = files.file("tiny", source, "MatMul_y$", false, calibration);
        assertFalse("another recipe is another file", kept.cached());
        assertEquals(1, kept.result().quantized());
        assertEquals(1, kept.result().keptFp32());
        assertTrue(kept.file()
                .getFileName()
                .toString()
                .matches("tiny-[0-9a-f]{64}-v" + Int8Quantizer.VERSION + "-[0-9a-f]{12}\\.onnx"));
        assertFalse("the other recipe's file is stale", Files.exists(standard.file()));
        assertTrue(files.file("tiny", source, "MatMul_y$", false, calibration).cached());
        assertEquals("a cached file needs no calibration", 1, calibrations.get());
    }

    @Test
    public void theSameSourceUnderTwoNamesKeepsTwoFiles() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Files.write(source, linear(weights(3)));
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"), Int8Quantizer.recipe());
        Path a = files.file("tiny", source).file();
        Path b = files.file("tiny-2", source).file();
        assertTrue(Files.exists(a) && Files.exists(b));
    }

    @Test
    public void nothingToQuantizeNamesTheModel() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Files.write(
                source,
                Int8QuantizerTest.model(
                        List.of(
                                Int8QuantizerTest.node("Transpose", List.of("x"), "xt"),
                                Int8QuantizerTest.node("MatMul", List.of("x", "xt"), "y")),
                        List.of(),
                        "y"));
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"), Int8Quantizer.recipe());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> files.file("already-q", source));
        assertTrue(
                e.getMessage(),
                e.getMessage().contains("[already-q]") && e.getMessage().contains("nothing to quantize"));
    }
}

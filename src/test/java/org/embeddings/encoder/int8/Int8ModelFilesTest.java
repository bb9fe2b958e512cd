package org.embeddings.encoder.int8;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelLoadException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The quantized-file cache: the first call builds and writes the int8 file with its checksum, the next finds it by
 * the source's checksum and the recipe without quantizing, a changed source or recipe gets another file (and the
 * stale one is deleted), a corrupt file or one without its checksum is rebuilt rather than loaded, a build that
 * fails its check falls back to 7-bit weights or is refused with nothing kept, nothing temporary is left behind,
 * and a source with nothing to quantize fails naming the model.
 */
public class Int8ModelFilesTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static final String KEY = "-[0-9a-f]{64}-v" + Int8Quantizer.VERSION + "-";

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

    private static List<String> listing(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A build whose check returns {@code results} in turn (null: nothing to check), counting calibrations. */
    private static final class ScriptedBuild implements Int8ModelFiles.Build {
        final AtomicInteger calibrations = new AtomicInteger();
        final List<Int8Check.Result> results;
        int checks;

        ScriptedBuild(Int8Check.Result... results) {
            this.results = List.of(results);
        }

        @Override
        public Calibration calibrate(byte[] fp32) {
            calibrations.incrementAndGet();
            return Calibration.NONE;
        }

        @Override
        public Int8Check.Result check(Path candidate, Calibration calibration) {
            assertTrue("the candidate is on disk when it is checked", Files.isRegularFile(candidate));
            return results.isEmpty() ? null : results.get(checks++);
        }
    }

    private static final Int8Check.Result PASS = new Int8Check.Result(0.999, 0.9995, 1.0);
    private static final Int8Check.Result SATURATED = new Int8Check.Result(0.95, 0.97, 1.0);

    @Test
    public void buildsOnceThenReusesByChecksumAndRebuildsAChangedSource() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Path dir = tmp.getRoot().toPath().resolve("int8");
        Files.write(source, linear(weights(1)));
        Int8ModelFiles files = new Int8ModelFiles(dir);
        Int8Quantizer recipe = Int8Quantizer.recipe();

        Int8ModelFiles.Outcome first = files.file("tiny", source, recipe);
        assertFalse(first.cached());
        assertEquals(1, first.result().quantized());
        String name = first.file().getFileName().toString();
        assertTrue(name, name.matches("tiny" + KEY + recipe.key() + "\\.onnx"));
        assertArrayEquals(recipe.quantize(Files.readAllBytes(source)).model(), Files.readAllBytes(first.file()));
        assertEquals("the file and its checksum, nothing temporary", List.of(name, name + ".sha256"), listing(dir));
        assertEquals(Int8ModelFiles.sha256(first.file()), Files.readString(dir.resolve(name + ".sha256")));

        Int8ModelFiles.Outcome again = new Int8ModelFiles(dir).file("tiny", source, recipe);
        assertTrue("a second registry (a node restart) finds the file", again.cached());
        assertEquals(first.file(), again.file());
        assertEquals(null, again.result());

        Files.write(source, linear(weights(2))); // the operator replaced the model's file
        Int8ModelFiles.Outcome changed = files.file("tiny", source, recipe);
        assertFalse(changed.cached());
        assertNotEquals(first.file(), changed.file());
        assertFalse("the stale file is deleted", Files.exists(first.file()));
        String changedName = changed.file().getFileName().toString();
        assertEquals(List.of(changedName, changedName + ".sha256"), listing(dir));
    }

    @Test
    public void aCorruptFileOrOneWithoutItsChecksumIsRebuiltNotLoaded() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Path dir = tmp.getRoot().toPath().resolve("int8");
        Files.write(source, linear(weights(5)));
        Int8ModelFiles files = new Int8ModelFiles(dir);
        Int8Quantizer recipe = Int8Quantizer.recipe();
        Path file = files.file("tiny", source, recipe).file();
        byte[] good = Files.readAllBytes(file);

        byte[] flipped = good.clone();
        flipped[flipped.length / 2] ^= 1; // one bit, as a bad disk sector or a torn write leaves it
        Files.write(file, flipped);
        Int8ModelFiles.Outcome rebuilt = files.file("tiny", source, recipe);
        assertFalse("a file that fails its checksum is not used", rebuilt.cached());
        assertArrayEquals(good, Files.readAllBytes(rebuilt.file()));

        Files.delete(dir.resolve(file.getFileName() + ".sha256")); // a crash between the file's move and its checksum's
        assertFalse(files.file("tiny", source, recipe).cached());
        assertTrue(files.file("tiny", source, recipe).cached());
    }

    @Test
    public void theRecipeIsPartOfTheKeySoAnotherCpusFileIsNotReused() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Files.write(source, linear(weights(6)));
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"));
        Path full = files.file("tiny", source, Int8Quantizer.recipe()).file();
        Int8ModelFiles.Outcome reduced =
                files.file("tiny", source, Int8Quantizer.recipe().reducedRange());
        assertFalse("7-bit weights (a CPU without VNNI) are another file", reduced.cached());
        assertTrue(reduced.file().getFileName().toString().contains("-w7"));
        assertTrue(full.getFileName().toString().contains("-w8"));
    }

    @Test
    public void aBuildThatFailsItsCheckFallsBackTo7BitWeightsOrIsRefused() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Path dir = tmp.getRoot().toPath().resolve("int8");
        Files.write(source, linear(weights(7)));
        Int8ModelFiles files = new Int8ModelFiles(dir);

        ScriptedBuild fallback = new ScriptedBuild(SATURATED, PASS);
        Int8ModelFiles.Outcome kept = files.file("tiny", source, Int8Quantizer.recipe(), fallback);
        assertEquals(2, fallback.checks);
        assertEquals("calibrated once for both attempts", 1, fallback.calibrations.get());
        assertEquals(Int8Quantizer.recipe().reducedRange().key(), kept.recipe());
        assertEquals(PASS, kept.check());
        assertArrayEquals(
                Int8Quantizer.recipe()
                        .reducedRange()
                        .quantize(Files.readAllBytes(source))
                        .model(),
                Files.readAllBytes(kept.file()));

        Files.write(source, linear(weights(8)));
        ScriptedBuild failing = new ScriptedBuild(SATURATED, SATURATED);
        ModelLoadException e = assertThrows(
                ModelLoadException.class, () -> files.file("tiny", source, Int8Quantizer.recipe(), failing));
        assertTrue(
                e.getMessage(),
                e.getMessage().contains("[tiny]") && e.getMessage().contains("self-check"));
        assertTrue(e.getMessage(), e.getMessage().contains("0.9500"));
        assertFalse(e.getMessage(), e.getMessage().contains(dir.toString()));
        assertEquals(
                "nothing of the failed builds is left, the older file stays",
                List.of(kept.file().getFileName().toString(), kept.file().getFileName() + ".sha256"),
                listing(dir));

        ScriptedBuild reducedFails = new ScriptedBuild(SATURATED);
        assertThrows(
                "a 7-bit recipe has no safer fallback",
                ModelLoadException.class,
                () -> files.file("tiny", source, Int8Quantizer.recipe().reducedRange(), reducedFails));
        assertEquals(1, reducedFails.checks);
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
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"));
        Int8ModelFiles.Outcome standard = files.file("tiny", source, Int8Quantizer.recipe());
        assertEquals(2, standard.result().quantized());
        ScriptedBuild build = new ScriptedBuild();
        Int8Quantizer keeping = Int8Quantizer.keeping("MatMul_y$");
        Int8ModelFiles.Outcome kept = files.file("tiny", source, keeping, build);
        assertFalse("another recipe is another file", kept.cached());
        assertEquals(1, kept.result().quantized());
        assertEquals(1, kept.result().keptFp32());
        assertTrue(kept.file().getFileName().toString().matches("tiny" + KEY + "keep-[0-9a-f]{12}-.*\\.onnx"));
        assertFalse("the other recipe's file is stale", Files.exists(standard.file()));
        assertTrue(files.file("tiny", source, keeping, build).cached());
        assertEquals("a cached file needs no calibration", 1, build.calibrations.get());
    }

    @Test
    public void theSameSourceUnderTwoNamesKeepsTwoFiles() throws Exception {
        Path source = tmp.newFile("model.onnx").toPath();
        Files.write(source, linear(weights(3)));
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"));
        Path a = files.file("tiny", source, Int8Quantizer.recipe()).file();
        Path b = files.file("tiny-2", source, Int8Quantizer.recipe()).file();
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
        Int8ModelFiles files = new Int8ModelFiles(tmp.getRoot().toPath().resolve("int8"));
        InvalidInputException e = assertThrows(
                InvalidInputException.class, () -> files.file("already-q", source, Int8Quantizer.recipe()));
        assertTrue(
                e.getMessage(),
                e.getMessage().contains("[already-q]") && e.getMessage().contains("nothing to quantize"));
    }
}

package org.embeddings.encoder;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Function;

/**
 * The int8 ONNX files of derived {@code <name>-int8} models, built by {@link Int8Quantizer} from the fp32 source
 * and kept in one directory (on a node, under its data path), keyed by the SHA-256 of the source file's bytes and
 * {@link Int8Quantizer#VERSION}: {@code <name>-<sha256>-v<version>.onnx}. A changed source file (or a changed
 * rewrite) has another key and is rebuilt; the files of the same model under other keys are then deleted. A file is
 * written under a temporary name in the same directory and moved into place atomically, so a reader never sees a
 * half-written model and a crash leaves at most a temporary file, removed with the stale ones on the next build.
 *
 * <p>Hashing reads the source once as a stream; a cache miss then reads it whole and quantizes it in the heap,
 * streaming the result to the file (transient heap: the source's size plus the int8 weights). Callers run it where
 * a model load runs, never on a search or transport thread.
 */
public final class Int8ModelFiles {
    /** How the last call got its file: from the cache or built, and what that took. */
    public record Outcome(Path file, boolean cached, long hashNanos, long buildNanos, Int8Quantizer.Result result) {}

    private final Path dir;
    private final Int8Quantizer quantizer;

    public Int8ModelFiles(Path dir, Int8Quantizer quantizer) {
        this.dir = dir;
        this.quantizer = quantizer;
    }

    public Path dir() {
        return dir;
    }

    /**
     * The int8 file for model {@code name} built from {@code source} without smoothing, from the cache when it holds
     * this source.
     */
    public Outcome file(String name, Path source) {
        return file(name, source, null, false, fp32 -> ActivationRanges.NONE);
    }

    /**
     * The int8 file for model {@code name} built from {@code source}, keeping fp32 the weight matmuls whose node
     * names {@code fp32NodePattern} finds (null: this instance's recipe), and with the last layer cut to the first
     * token when {@code firstTokenOnly} ({@link Int8Quantizer#firstTokenOnly()}); both are part of the cache key. On
     * a cache miss, {@code calibration} measures the source graph's activation ranges for smoothing (it runs only
     * then: a cached file needs no calibration).
     */
    public Outcome file(
            String name,
            Path source,
            String fp32NodePattern,
            boolean firstTokenOnly,
            Function<byte[], ActivationRanges> calibration) {
        ModelName.check(name);
        long start = System.nanoTime();
        Int8Quantizer quantizer = this.quantizer;
        String key = name + "-" + sha256(source) + "-v" + Int8Quantizer.VERSION;
        if (fp32NodePattern != null) {
            quantizer = Int8Quantizer.keeping(fp32NodePattern);
            key += "-"
                    + sha256(fp32NodePattern.getBytes(StandardCharsets.UTF_8)).substring(0, 12);
        }
        if (firstTokenOnly) {
            quantizer = quantizer.firstTokenOnly();
            key += "-first-token";
        }
        long hashed = System.nanoTime();
        Path target = dir.resolve(key + ".onnx");
        if (Files.isRegularFile(target)) {
            return new Outcome(target, true, hashed - start, 0, null);
        }
        try {
            Files.createDirectories(dir);
            byte[] fp32 = Files.readAllBytes(source);
            Int8Quantizer.Result result;
            Path tmp = Files.createTempFile(dir, key + "-", ".tmp");
            try {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                    result = quantizer.quantize(fp32, calibration.apply(fp32), out);
                } catch (InvalidInputException e) {
                    throw new InvalidInputException("cannot build model [" + name + "]: " + e.getMessage(), e);
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            deleteStale(name, target);
            return new Outcome(target, false, hashed - start, System.nanoTime() - hashed, result);
        } catch (IOException e) {
            throw new ModelLoadException(
                    "cannot write the int8 form of model [" + name + "] to [" + dir + "]: " + e, e);
        }
    }

    /** Files of the same model under another key (an older source or rewrite), and temporary files left by a crash. */
    private void deleteStale(String name, Path keep) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String f = p.getFileName().toString();
                boolean sameModel = f.startsWith(name + "-")
                        && f.length() > name.length() + 65
                        && f.substring(name.length() + 1, name.length() + 65).matches("[0-9a-f]{64}");
                if (sameModel && p.equals(keep) == false) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

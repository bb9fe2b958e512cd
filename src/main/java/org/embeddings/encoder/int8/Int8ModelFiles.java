package org.embeddings.encoder.int8;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.card.ModelCard;

/**
 * The int8 ONNX files of derived {@code <name>-int8} models, built by {@link Int8Quantizer} from the fp32 source
 * and kept in one directory (on a node, under its data path), keyed by the SHA-256 of the source file's bytes,
 * {@link Int8Quantizer#VERSION} and the recipe's {@link Int8Quantizer#key()}:
 * {@code <name>-<sha256>-v<version>-<recipe>.onnx}. A changed source file, rewrite or recipe (the weights' range
 * follows the CPU, {@link IntegerKernels}) has another key and is rebuilt; the files of the same model under other
 * keys are then deleted.
 *
 * <p>Files are written right or not at all: a build streams the file under a temporary name in the same
 * directory, computing its SHA-256 as it goes, forces it to disk, checks it ({@link Int8Check}), then moves it
 * into place atomically and writes its checksum beside it ({@code .sha256}, also forced and moved). A load
 * verifies the file against that checksum before using it; a file without one (a crash between the two moves) or
 * whose bytes differ is deleted and rebuilt, never loaded.
 *
 * <p>A build that fails its check with full-range weights is tried again with 7-bit weights; one that fails with
 * those too is refused, naming the figures, so that no int8 model is ever quietly wrong.
 *
 * <p>Hashing reads the source once as a stream; a cache miss then reads it whole and quantizes it in the heap,
 * streaming the result to the file (transient heap: the source's size plus the int8 weights). Callers run it where
 * a model load runs, never on a search or transport thread.
 */
public final class Int8ModelFiles {
    /** What a build needs beyond the source file: its calibration, and the check of a candidate file. */
    public interface Build {
        Calibration calibrate(byte[] fp32);

        /** The check of a candidate file against the calibration; null when there is nothing to check against. */
        Int8Check.Result check(Path candidate, Calibration calibration);
    }

    /** No smoothing, no static ranges (per-row scales instead), no check: for tools and tests of the rewrite. */
    public static final Build UNCHECKED = new Build() {
        @Override
        public Calibration calibrate(byte[] fp32) {
            return Calibration.NONE;
        }

        @Override
        public Int8Check.Result check(Path candidate, Calibration calibration) {
            return null;
        }
    };

    /**
     * How a node builds: calibrated by the fp32 graph on the calibration texts ({@link ActivationProbe}), each
     * candidate checked against its vectors ({@link Int8Check}), with {@code card}'s prompts and the tokenizer.
     */
    public static Build calibrated(ModelCard card, Path tokenizer, SessionSettings settings) {
        return new Build() {
            @Override
            public Calibration calibrate(byte[] fp32) {
                return ActivationProbe.measure(fp32, card, tokenizer, settings);
            }

            @Override
            public Int8Check.Result check(Path candidate, Calibration calibration) {
                return Int8Check.run(candidate, card, tokenizer, settings, calibration.vectors());
            }
        };
    }

    /**
     * How a call got its file: from the cache or built, what that took, and for a build the recipe that passed
     * ({@code recipe}, which may be safer than the one asked for) and its check.
     */
    public record Outcome(
            Path file,
            boolean cached,
            long hashNanos,
            long buildNanos,
            Int8Quantizer.Result result,
            String recipe,
            Int8Check.Result check) {}

    static final String CHECKSUM_SUFFIX = ".sha256";

    private final Path dir;

    public Int8ModelFiles(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The int8 file of {@code name} built from {@code source} with {@code recipe}, unchecked ({@link #UNCHECKED}). */
    public Outcome file(String name, Path source, Int8Quantizer recipe) {
        return file(name, source, recipe, UNCHECKED);
    }

    /**
     * The int8 file of model {@code name} built from {@code source} with {@code recipe}, from the cache when it holds
     * a verified file for this source and recipe; else built, calibrated and checked by {@code build} (calibration
     * runs only then: a cached file needs none).
     */
    public Outcome file(String name, Path source, Int8Quantizer recipe, Build build) {
        ModelName.check(name);
        long start = System.nanoTime();
        String key = name + "-" + sha256(source) + "-v" + Int8Quantizer.VERSION + "-" + recipe.key();
        long hashed = System.nanoTime();
        Path target = dir.resolve(key + ".onnx");
        Path checksum = dir.resolve(key + ".onnx" + CHECKSUM_SUFFIX);
        try {
            if (verified(target, checksum)) {
                return new Outcome(target, true, System.nanoTime() - start, 0, null, null, null);
            }
            Files.deleteIfExists(checksum);
            Files.deleteIfExists(target);
            Files.createDirectories(dir);
            byte[] fp32 = Files.readAllBytes(source);
            Calibration calibration = build.calibrate(fp32);
            List<Int8Quantizer> recipes = new ArrayList<>(List.of(recipe));
            if (recipe.isReducedRange() == false) {
                recipes.add(recipe.reducedRange());
            }
            List<String> failures = new ArrayList<>();
            for (Int8Quantizer candidate : recipes) {
                Attempt attempt = build(name, key, fp32, candidate, calibration, build, target, checksum);
                if (attempt.kept()) {
                    deleteStale(name, target, checksum);
                    return new Outcome(
                            target,
                            false,
                            hashed - start,
                            System.nanoTime() - hashed,
                            attempt.result(),
                            candidate.key(),
                            attempt.check());
                }
                failures.add(candidate.key() + ": " + attempt.check());
            }
            throw new ModelLoadException("the int8 form of model [" + name + "] failed its self-check on the "
                    + "calibration texts (at least " + Int8Check.MIN_COSINE + " cosine to fp32 per text, "
                    + Int8Check.BATCH_COSINE + " between a text alone and batched) with every recipe tried: "
                    + failures + "; use the fp32 model [" + Int8Name.base(name).orElse(name) + "]");
        } catch (IOException e) {
            throw new ModelLoadException(
                    "cannot write the int8 form of model [" + name + "] to the node's int8 cache: "
                            + e.getClass().getSimpleName(),
                    e);
        }
    }

    /** One candidate recipe's build: what the rewrite did, its check, and whether its file was kept. */
    private record Attempt(Int8Quantizer.Result result, Int8Check.Result check, boolean kept) {}

    /** Writes and checks one candidate, and moves it into place when it passes (a failed one leaves nothing). */
    private Attempt build(
            String name,
            String key,
            byte[] fp32,
            Int8Quantizer recipe,
            Calibration calibration,
            Build build,
            Path target,
            Path checksum)
            throws IOException {
        Path tmp = Files.createTempFile(dir, key + "-", ".tmp");
        Path tmpChecksum = null;
        try {
            MessageDigest digest = sha256();
            Int8Quantizer.Result result;
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = new DigestOutputStream(
                        new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 20), digest);
                try {
                    result = recipe.quantize(fp32, calibration.ranges(), out);
                } catch (InvalidInputException e) {
                    throw new InvalidInputException("cannot build model [" + name + "]: " + e.getMessage(), e);
                }
                out.flush();
                channel.force(true);
            }
            Int8Check.Result check = build.check(tmp, calibration);
            if (check != null && check.passes() == false) {
                return new Attempt(result, check, false);
            }
            tmpChecksum = Files.createTempFile(dir, key + "-", ".tmp");
            try (FileChannel channel = FileChannel.open(tmpChecksum, StandardOpenOption.WRITE)) {
                channel.write(java.nio.ByteBuffer.wrap(
                        HexFormat.of().formatHex(digest.digest()).getBytes(StandardCharsets.US_ASCII)));
                channel.force(true);
            }
            // the file first, its checksum last: a crash between the two leaves a file without one, rebuilt
            move(tmp, target);
            move(tmpChecksum, checksum);
            forceDirectory();
            return new Attempt(result, check, true);
        } finally {
            Files.deleteIfExists(tmp);
            if (tmpChecksum != null) {
                Files.deleteIfExists(tmpChecksum);
            }
        }
    }

    /** Whether {@code file} exists with a checksum beside it that its bytes match. */
    private static boolean verified(Path file, Path checksum) throws IOException {
        if (Files.isRegularFile(file) == false || Files.isRegularFile(checksum) == false) {
            return false;
        }
        String expected = Files.readString(checksum, StandardCharsets.US_ASCII).trim();
        return expected.equals(sha256(file));
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Makes the moves durable; a file system that cannot sync a directory still has the files' own syncs. */
    private void forceDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // not every file system lets a directory be opened for sync
        }
    }

    /**
     * Files of the same model under another key (an older source, rewrite or recipe), their checksums, and
     * temporary files left by a crash.
     */
    private void deleteStale(String name, Path keepFile, Path keepChecksum) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String f = p.getFileName().toString();
                boolean sameModel = f.startsWith(name + "-")
                        && f.length() > name.length() + 65
                        && f.substring(name.length() + 1, name.length() + 65).matches("[0-9a-f]{64}");
                if (sameModel && p.equals(keepFile) == false && p.equals(keepChecksum) == false) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = sha256();
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

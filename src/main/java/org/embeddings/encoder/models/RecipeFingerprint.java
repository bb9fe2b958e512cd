package org.embeddings.encoder.models;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.card.ModelCard;

/**
 * What makes a loaded model's vectors what they are, as 32 bytes: equal fingerprints give every text the same vector,
 * on any node, so a vector stored under one fingerprint may stand in for encoding its text again under the same.
 *
 * <p>Algorithm: SHA-256 over a format version, the card's recipe (dims, pooling, normalization, token limit, every
 * role's prompt, padding side, ONNX output, the int8 recipe's fp32 layers; not its name, which changes no vector),
 * whether the session runs on CUDA (its kernels round differently from the CPU's), and the SHA-256 of the bytes of the
 * ONNX file the session loaded and of the tokenizer file. For a derived {@code <name>-int8} model the ONNX file is the
 * int8 file built from the fp32 one, so the int8 rewrite's version, recipe and the CPU's weight range are all in its
 * bytes. Content hashes rather than file names, sizes or times, so that two nodes that installed the same files agree.
 *
 * <p>Hashing reads both files once (about 0.2 s for a 133 MB model); {@link Source} does it on first use, not at
 * load, so that nodes that only search never pay it.
 */
public record RecipeFingerprint(byte[] bytes) {
    /** Changes when what a fingerprint covers changes, so that no old digest matches a new recipe by accident. */
    static final int VERSION = 1;

    public RecipeFingerprint {
        if (bytes.length != 32) {
            throw new IllegalArgumentException("a recipe fingerprint has 32 bytes, got " + bytes.length);
        }
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Feeds the fingerprint into {@code digest}, for digests of texts under this recipe. */
    public void update(MessageDigest digest) {
        digest.update(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RecipeFingerprint other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }

    /** The fingerprint of a model run with {@code card} from {@code onnx} and {@code tokenizer}. */
    public static RecipeFingerprint of(ModelCard card, Path onnx, Path tokenizer, boolean cuda) {
        MessageDigest digest = sha256();
        String recipe = String.join(
                "\u0000",
                "recipe-v" + VERSION,
                Integer.toString(card.dims()),
                card.pooling().name(),
                Boolean.toString(card.normalize()),
                Integer.toString(card.maxTokens()),
                card.prompt().query(),
                card.prompt().passage(),
                card.prompt().none(),
                card.paddingSide().name(),
                card.output(),
                String.valueOf(card.int8Fp32()),
                cuda ? "cuda" : "cpu");
        digest.update(recipe.getBytes(StandardCharsets.UTF_8));
        digest.update(fileHash(onnx));
        digest.update(fileHash(tokenizer));
        return new RecipeFingerprint(digest.digest());
    }

    private static byte[] fileHash(Path file) {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
        } catch (IOException e) {
            // the file's name only, the I/O failure (with its path) kept for the log: the message reaches clients
            throw new ModelUnavailableException(
                    "cannot read the model's file [" + file.getFileName() + "] to fingerprint its recipe", e);
        }
        return digest.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The files a loaded model came from, fingerprinted on first use: {@link #get()} hashes them once (the first
     * caller pays it, concurrent callers wait for that one), then answers from memory.
     */
    public static final class Source {
        private final ModelCard card;
        private final Path onnx;
        private final Path tokenizer;
        private final boolean cuda;
        private volatile RecipeFingerprint fingerprint;

        public Source(ModelCard card, Path onnx, Path tokenizer, boolean cuda) {
            this.card = card;
            this.onnx = onnx;
            this.tokenizer = tokenizer;
            this.cuda = cuda;
        }

        /** The fingerprint if it was computed already, else null; never reads a file. */
        public RecipeFingerprint computed() {
            return fingerprint;
        }

        public RecipeFingerprint get() {
            RecipeFingerprint f = fingerprint;
            if (f == null) {
                synchronized (this) {
                    f = fingerprint;
                    if (f == null) {
                        f = of(card, onnx, tokenizer, cuda);
                        fingerprint = f;
                    }
                }
            }
            return f;
        }
    }
}

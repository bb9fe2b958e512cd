package org.embeddings.encoder;

import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.util.Locale;

/**
 * What a failed model load means, decided once where the load ends: which failures are the files' (broken: remembered
 * until the folder changes) and which are the node's (transient: retried with backoff), and the client-safe exception
 * of each.
 *
 * <p>Transient: the JVM or ONNX Runtime ran out of memory ({@link OutOfMemoryError}, ORT's {@code bad_alloc} and
 * allocation failures), and I/O errors ({@link IOException} anywhere in the chain: a full disk, a permission, a file
 * system that failed). Broken: everything else, notably malformed protobuf, graphs ONNX Runtime rejects, cards and
 * tokenizers that do not parse. Exceptions this package made with client-safe messages pass through unchanged; any
 * other keeps its words out of the client message (they may hold paths) and stays as the detail for the log.
 */
public final class LoadFailures {
    private LoadFailures() {}

    /** The client-safe failure of loading model {@code name}, classified as above. */
    public static RuntimeException classify(String name, Throwable t) {
        if (t instanceof ModelLoadException
                || t instanceof ModelUnavailableException
                || t instanceof ModelMemoryLimitException
                || t instanceof InvalidInputException) {
            return (RuntimeException) t;
        }
        String resource = resource(t);
        if (resource != null) {
            return new ModelUnavailableException("model [" + name + "] could not be loaded: " + resource, t);
        }
        return new ModelLoadException(
                "model [" + name + "] cannot be loaded (" + t.getClass().getSimpleName()
                        + "); the node's log has the details",
                t);
    }

    /**
     * The failure of building the int8 form of model {@code name}: transient for the node's reasons (as
     * {@link #classify}), else broken, with the builder's words kept where {@code redaction} takes its paths out.
     */
    public static RuntimeException int8Build(String name, Throwable t, PathRedaction redaction) {
        if (t instanceof ModelMemoryLimitException || t instanceof ModelUnavailableException) {
            return (RuntimeException) t;
        }
        String resource = resource(t);
        if (resource != null) {
            return new ModelUnavailableException("cannot build the int8 form of model [" + name + "]: " + resource, t);
        }
        String why = t instanceof InvalidInputException
                ? redaction.apply(t.getMessage())
                : t.getClass().getSimpleName();
        return new ModelLoadException(
                "cannot build the int8 form of model [" + name + "]: " + why + "; the node's log has the details", t);
    }

    /** Why a failure is the node's, in words for a client; null when it is not. */
    public static String resource(Throwable t) {
        int depth = 0;
        for (Throwable c = t; c != null && depth++ < 32; c = next(c)) {
            if (c instanceof OutOfMemoryError) {
                return "out of memory (" + c.getClass().getSimpleName() + ")";
            }
            if (c instanceof FileSystemException f) {
                return "an I/O error (" + f.getClass().getSimpleName()
                        + (f.getReason() == null ? "" : ": " + f.getReason()) + ")";
            }
            if (c instanceof IOException && (c instanceof UncheckedIOException) == false) {
                return "an I/O error (" + c.getClass().getSimpleName() + ")";
            }
            if (c instanceof OrtException ort && isTransient(ort)) {
                return "ONNX Runtime ran out of a resource (" + ort.getCode() + ")";
            }
        }
        return null;
    }

    /** The failure under {@code t}: its cause, or the detail that this package's exceptions keep apart from it. */
    private static Throwable next(Throwable t) {
        if (t instanceof ModelLoadException m && m.detail() != null) {
            return m.detail();
        }
        if (t instanceof ModelUnavailableException m && m.detail() != null) {
            return m.detail();
        }
        return t.getCause() == t ? null : t.getCause();
    }

    /**
     * Whether ONNX Runtime failed for the node's reasons: its execution engine or provider, or an allocation, a full
     * disk or an I/O error in its words. A graph it rejects (protobuf, type or shape errors, unknown operators) is not.
     */
    static boolean isTransient(OrtException e) {
        if (e.getCode() == OrtException.OrtErrorCode.ORT_ENGINE_ERROR
                || e.getCode() == OrtException.OrtErrorCode.ORT_EP_FAIL) {
            return true;
        }
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("bad_alloc")
                || m.contains("bad allocation")
                || m.contains("out of memory")
                || m.contains("failed to allocate")
                || m.contains("cannot allocate")
                || m.contains("no space left")
                || m.contains("too many open files")
                || m.contains("input/output error");
    }
}

package org.embeddings.encoder.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.LoadFailures;
import org.embeddings.encoder.ModelName;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.card.CardCatalog;

/**
 * Where installed models live: folders {@code <root>/<name>/} holding at least {@code model.onnx}, searched root by
 * root in order (a node's {@code config/embeddings/models} before the plugin's bundled {@code models}), so that an
 * installed model overrides a bundled one of the same name.
 *
 * <p>Names reach this type already checked by {@link ModelName}; a folder that resolves outside its root (a symbolic
 * link pointing elsewhere) is refused, so a name can never reach a file the operator did not install.
 */
public final class ModelFolders {
    public static final String ONNX_FILE = "model.onnx";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String CARD_FILE = "card.json";

    private final List<Path> roots;

    public ModelFolders(List<Path> roots) {
        if (roots.isEmpty()) {
            throw new IllegalArgumentException("at least one model root is needed");
        }
        this.roots = List.copyOf(roots);
    }

    /** The folder of an installed model, its real path; empty when no root holds one. */
    public Optional<Path> folder(String name) {
        for (Path root : roots) {
            Path candidate = root.resolve(name);
            if (Files.isRegularFile(candidate.resolve(ONNX_FILE)) == false) {
                continue;
            }
            try {
                Path real = candidate.toRealPath();
                if (real.startsWith(root.toRealPath()) == false) {
                    throw new InvalidInputException(
                            "model [" + name + "] resolves outside its model directory; refusing it");
                }
                return Optional.of(real);
            } catch (IOException e) {
                throw new ModelUnavailableException(
                        "cannot read the folder of model [" + name + "]: " + LoadFailures.resource(e), e);
            }
        }
        return Optional.empty();
    }

    /** Names of the installed models, sorted, each once (the first root holding it wins). */
    public List<String> installed() {
        List<String> names = new ArrayList<>();
        for (Path root : roots) {
            if (Files.isDirectory(root) == false) {
                continue;
            }
            try (var dirs = Files.list(root)) {
                dirs.filter(d -> Files.isRegularFile(d.resolve(ONNX_FILE)))
                        .map(d -> d.getFileName().toString())
                        .filter(n -> names.contains(n) == false)
                        .forEach(names::add);
            } catch (IOException e) {
                throw new ModelUnavailableException("cannot list the installed models: " + LoadFailures.resource(e), e);
            }
        }
        names.sort(null);
        return names;
    }

    /** Where a user installs a model: the first root. */
    public Path installRoot() {
        return roots.get(0);
    }

    /**
     * The error for a name this node cannot run: says how to install a known model, and what is installed. It goes to
     * clients, so it names the folder to create but not where the models directory is on this node's disk (the node
     * logs that when it starts).
     */
    public UnknownModelException unknown(String name) {
        String known = CardCatalog.bundled(name).isPresent()
                ? "model [" + name + "] is not installed on this node (" + howToInstall(name) + ")"
                : "unknown model [" + name + "]";
        return new UnknownModelException(known + "; installed models: " + installed());
    }

    /** How to install model {@code name}, in words for a client. */
    public static String howToInstall(String name) {
        return "place " + ONNX_FILE + " and " + TOKENIZER_FILE + " in a folder [" + name
                + "] of the node's embeddings models directory";
    }
}

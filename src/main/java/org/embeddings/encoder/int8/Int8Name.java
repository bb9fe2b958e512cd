package org.embeddings.encoder.int8;

import java.util.Optional;
import org.embeddings.encoder.ModelName;

/**
 * The name rule of derived int8 models: {@code <name>-int8} names the int8 form of the installed model
 * {@code <name>}, built from its fp32 {@code model.onnx} by {@link Int8Quantizer}, with no files of its own. A folder
 * actually named {@code <name>-int8} is an ordinary installed model and wins over the derived form (the registry
 * looks for a folder first). Names are normalized ({@link ModelName}) before they reach this rule.
 */
public final class Int8Name {
    public static final String SUFFIX = "-int8";

    private Int8Name() {}

    /** The name of the int8 form of {@code base}. */
    public static String of(String base) {
        return base + SUFFIX;
    }

    /** The model whose int8 form {@code name} would be, if {@code name} has the suffix. */
    public static Optional<String> base(String name) {
        if (name.endsWith(SUFFIX) && name.length() > SUFFIX.length()) {
            return Optional.of(name.substring(0, name.length() - SUFFIX.length()));
        }
        return Optional.empty();
    }

    /** Whether {@code name} is the int8 form of {@code base}. */
    public static boolean isInt8Of(String name, String base) {
        return name != null && base != null && name.equals(of(base));
    }
}

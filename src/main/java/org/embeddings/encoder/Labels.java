package org.embeddings.encoder;

import java.util.Arrays;
import java.util.Locale;

/**
 * The names users type for enum constants: the constant's name in lower case ({@code mean_sqrt_len},
 * {@code dot_product}). Parsing ignores case and surrounding blanks and accepts {@code -} for {@code _}; anything else
 * is an {@link InvalidInputException} (a 400) that names the option, the value, and every accepted label.
 */
public final class Labels {
    private Labels() {}

    /** The label of a constant. */
    public static String of(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT);
    }

    /** The constant of {@code type} whose label is {@code label}; {@code option} names the setting in the error. */
    public static <E extends Enum<E>> E parse(Class<E> type, String option, String label) {
        if (label != null) {
            String wanted = label.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            for (E constant : type.getEnumConstants()) {
                if (of(constant).equals(wanted)) {
                    return constant;
                }
            }
        }
        throw new InvalidInputException("unknown [" + option + "] [" + label + "], expected one of "
                + Arrays.stream(type.getEnumConstants()).map(Labels::of).toList());
    }
}

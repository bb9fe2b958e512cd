package org.embeddings.opensearch.ingest;

import org.embeddings.encoder.InvalidInputException;

/**
 * Whether an {@code embed} processor reuses vectors instead of encoding their texts again, with what it needs for
 * that: where it reads the stored versions of documents ({@link PreviousVersions}) and where it counts
 * ({@link ReuseStats}).
 *
 * <p>The processor option {@value #OPTION}: unset, targets bound to the pipeline's model reuse (the model's recipe
 * then stands behind every vector the field holds); {@code true}, every target does; {@code false}, none does, and
 * every text is encoded. Digests are written either way, so that turning reuse on later finds them.
 */
record Reuse(Option option, PreviousVersions previous, ReuseStats stats) {
    static final String OPTION = "reuse";

    enum Option {
        DEFAULT,
        ON,
        OFF
    }

    /** The option as a pipeline gives it: absent, or a boolean; a 400 names anything else. */
    static Option parse(Object value) {
        if (value == null) {
            return Option.DEFAULT;
        }
        if (value instanceof Boolean b) {
            return b ? Option.ON : Option.OFF;
        }
        throw new InvalidInputException("[" + OPTION + "] must be true or false, got [" + value + "]");
    }

    /** Whether a target reuses vectors: {@code bound} when the write mapping binds it to the model (or is unknown). */
    boolean appliesTo(boolean bound) {
        return option == Option.ON || option == Option.DEFAULT && bound;
    }
}

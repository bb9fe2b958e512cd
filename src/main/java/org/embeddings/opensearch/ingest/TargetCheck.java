package org.embeddings.opensearch.ingest;

import java.util.Optional;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.opensearch.EmbeddingFields.MappedField;
import org.embeddings.opensearch.ModelBinding;
import org.embeddings.opensearch.WriteMapping;

/**
 * Whether a target of {@code embed} will index the vectors written into it, in the mapping the document's write lands
 * in ({@link WriteMapping}: the concrete write index behind an alias, a data stream or date math, or the templates of
 * an index the write creates). Refused, each with a 400 that names the target and the index:
 * <ul>
 *   <li>a target mapped as anything but {@code embedding} (its vectors would go into, say, a keyword field);</li>
 *   <li>a target bound to another model than the pipeline's;</li>
 *   <li>an unmapped target, unless the first dynamic template that takes an array of floats at its path maps it as
 *       {@code embedding} (else dynamic mapping makes it a plain {@code float} field that no query searches);</li>
 *   <li>with chunking, a target {@code PATH.FIELD} whose {@code PATH} is not mapped {@code nested} (the passages of a
 *       plain object are merged into one Lucene document and cannot be told apart).</li>
 * </ul>
 */
final class TargetCheck {
    private static final String NESTED = "nested";
    private static final String EMBEDDING = "embedding";

    private TargetCheck() {}

    /**
     * Throws {@link InvalidInputException} unless {@code target} in {@code mapping} takes {@code model}'s vectors;
     * returns whether the mapping binds the target to that model.
     */
    static boolean check(WriteMapping mapping, String target, String model, boolean passages) {
        String where = "index [" + mapping.index() + "]" + (mapping.exists() ? "" : " (to be created from templates)");
        if (passages) {
            String path = EmbedProcessor.passagePath(target);
            String type = mapping.field(path).map(MappedField::type).orElse(null);
            if (NESTED.equals(type) == false) {
                throw new InvalidInputException("[embed] chunking target [" + target + "] needs [" + path
                        + "] mapped as [nested] in " + where + ", but it is "
                        + (type == null ? "not mapped" : "of type [" + type + "]"));
            }
        }
        Optional<MappedField> mapped = mapping.field(target);
        String type;
        String bound;
        if (mapped.isPresent()) {
            type = mapped.get().type();
            bound = mapped.get().model();
        } else {
            Optional<WriteMapping.DynamicField> dynamic = mapping.dynamicVectorField(target);
            if (dynamic.isEmpty()) {
                throw new InvalidInputException("[embed] target field [" + target + "] is not mapped in " + where
                        + "; map it as [" + EMBEDDING + "] (or add a dynamic template that does) before writing"
                        + " vectors to it");
            }
            if (EMBEDDING.equals(dynamic.get().type()) == false) {
                throw new InvalidInputException("[embed] target field [" + target + "] is not mapped in " + where
                        + ", and dynamic template [" + dynamic.get().template() + "] would map it as ["
                        + dynamic.get().type() + "], not [" + EMBEDDING + "]");
            }
            type = EMBEDDING;
            bound = dynamic.get().model();
        }
        if (EMBEDDING.equals(type) == false) {
            throw new InvalidInputException("[embed] target field [" + target + "] of " + where + " is of type [" + type
                    + "], not [" + EMBEDDING + "]");
        }
        if (ModelBinding.takesDocumentsOf(bound, model) == false) {
            throw new InvalidInputException("[embed] target field [" + target + "] of " + where + " is bound to model ["
                    + bound + "], but this pipeline embeds with [" + model + "]");
        }
        return bound != null;
    }
}

package org.embeddings.opensearch.inference;

/**
 * Whether a search may start loading a model on this node: the one question {@link InferenceService} asks before it
 * loads a model for a query text or a highlighter, and the message of the 400 it answers with when the answer is no.
 * The plugin answers from the cluster state (mappings, ingest pipelines, settings); asking through this interface keeps
 * the inference package from depending on that policy, which reads the {@code embed} processor's pipelines and so
 * depends on the ingest package, which depends on this one.
 */
public interface SearchLoads {
    /** Whether a search may load {@code model} (a normalized name) on this node. */
    boolean mayLoad(String model);

    /** The message of the 400 a search gets for a model it may not load. */
    String refusal(String model);
}

package org.embeddings.opensearch.ingest;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.embeddings.encoder.RunMemory;
import org.embeddings.encoder.UnknownModelException;
import org.embeddings.encoder.card.ModelCard;
import org.embeddings.encoder.passages.Chunking;
import org.embeddings.opensearch.EmbeddingFields;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.cluster.service.ClusterApplierService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.Processor;
import org.opensearch.node.Node;
import org.opensearch.transport.client.Client;

/**
 * Builds {@link EmbedProcessor}s from pipeline definitions: {@code model} (required), {@code field_map} (required,
 * source field to target field), {@code ignore_missing} (default false), {@code chunking} (optional, parsed by
 * {@link ChunkingOptions}; {@code {}} takes the measured defaults), {@code reuse} (optional boolean, see
 * {@link Reuse}). An unknown model, an empty or non-string field map, bad chunking options, a chunking target without
 * a {@code PATH.}, and two sources writing one target (or, with chunking, one {@code PATH}: each replaces
 * {@code PATH} whole) are refused when the pipeline is created, not when the first document arrives; whether a target
 * is mapped, and {@code PATH} nested, depends on the index, and is checked per document.
 *
 * <p>Where the model's files are checked: a node with the ingest role that validates a pipeline (the elected cluster
 * manager for a put, the coordinating node for a simulate) refuses one whose model it lacks, with a 400 naming
 * itself. A node without the ingest role never runs documents, so it accepts the pipeline without the files: a data
 * or dedicated cluster-manager node needs no model. A node that lacks the files when it applies a pipeline from the
 * cluster state, or validates one without the ingest role, holds an {@link AbsentModelProcessor}: its documents (if
 * any reach it) fail alone with a 400 naming the model, until the model's folder appears on this node.
 */
public final class EmbedProcessorFactory implements Processor.Factory {
    private final Supplier<InferenceService> inference;
    private final Supplier<EmbeddingFields> fields;
    private final Supplier<ThreadContext> threadContext;
    private final Supplier<CircuitBreaker> breaker;
    private final PreviousVersions previous;
    private final ReuseStats stats;
    private final String nodeName;
    private final boolean ingestNode;

    /**
     * @param threadContext where a bulk's {@link BulkCharge} is found
     * @param breaker       the plugin's circuit breaker, charged outside bulks (null: not accounted)
     * @param client        the node's client, which reads the stored versions of documents (null: none)
     * @param generic       where a slice continues after reading them
     * @param stats         where processors count the vectors they encode, reuse, deduplicate and skip
     * @param nodeSettings  this node's settings: its name, and whether it has the ingest role
     */
    public EmbedProcessorFactory(
            Supplier<InferenceService> inference,
            Supplier<EmbeddingFields> fields,
            Supplier<ThreadContext> threadContext,
            Supplier<CircuitBreaker> breaker,
            Supplier<Client> client,
            Consumer<Runnable> generic,
            ReuseStats stats,
            Settings nodeSettings) {
        this.inference = inference;
        this.fields = fields;
        this.threadContext = threadContext;
        this.breaker = breaker;
        this.previous = new PreviousVersions(client, threadContext, generic);
        this.stats = stats;
        this.nodeName = Node.NODE_NAME_SETTING.get(nodeSettings);
        this.ingestNode = DiscoveryNode.isIngestNode(nodeSettings);
    }

    @Override
    public Processor create(
            Map<String, Processor.Factory> factories, String tag, String description, Map<String, Object> config) {
        String model = ConfigurationUtils.readStringProperty(EmbedProcessor.TYPE, tag, config, "model");
        Map<String, Object> rawMap = ConfigurationUtils.readMap(EmbedProcessor.TYPE, tag, config, "field_map");
        boolean ignoreMissing =
                ConfigurationUtils.readBooleanProperty(EmbedProcessor.TYPE, tag, config, "ignore_missing", false);
        Map<String, Object> rawChunking =
                ConfigurationUtils.readOptionalMap(EmbedProcessor.TYPE, tag, config, "chunking");
        Reuse.Option reuse;
        try {
            reuse = Reuse.parse(config.remove(Reuse.OPTION));
        } catch (IllegalArgumentException e) {
            throw ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, Reuse.OPTION, e.getMessage());
        }
        if (rawMap.isEmpty()) {
            throw ConfigurationUtils.newConfigurationException(
                    EmbedProcessor.TYPE, tag, "field_map", "must map at least one source field");
        }
        Map<String, String> fieldMap = new LinkedHashMap<>();
        Map<String, String> sourceOfTarget = new HashMap<>();
        for (Map.Entry<String, Object> e : rawMap.entrySet()) {
            if (e.getValue() instanceof String target && target.isBlank() == false) {
                String other = sourceOfTarget.putIfAbsent(target, e.getKey());
                if (other != null) {
                    throw ConfigurationUtils.newConfigurationException(
                            EmbedProcessor.TYPE,
                            tag,
                            "field_map",
                            "sources [" + other + "] and [" + e.getKey() + "] both write target [" + target
                                    + "]; each target takes one source");
                }
                fieldMap.put(e.getKey(), target);
            } else {
                throw ConfigurationUtils.newConfigurationException(
                        EmbedProcessor.TYPE,
                        tag,
                        "field_map",
                        "target of [" + e.getKey() + "] must be a field name, got [" + e.getValue() + "]");
            }
        }
        // a source holds text (a string or strings), so no target may be, hold or lie inside any source: its own
        // would lose the text to the vector, another's would be read as a vector (or nothing), never text
        for (Map.Entry<String, String> e : fieldMap.entrySet()) {
            String target = e.getValue();
            for (String source : fieldMap.keySet()) {
                boolean same = target.equals(source);
                boolean inside = target.startsWith(source + ".");
                if (same == false && inside == false && source.startsWith(target + ".") == false) {
                    continue;
                }
                String why = source.equals(e.getKey()) && (same || inside)
                        ? (same ? "is the source itself" : "lies inside the source")
                                + "; the vector needs a field of its own beside the text"
                        : "overlaps source [" + source + "]; a vector is not text to embed, so each target needs a"
                                + " field of its own";
                throw ConfigurationUtils.newConfigurationException(
                        EmbedProcessor.TYPE,
                        tag,
                        "field_map",
                        "target [" + target + "] of source [" + e.getKey() + "] " + why);
            }
        }
        Definition definition = new Definition(tag, description, model, fieldMap, ignoreMissing, rawChunking, reuse);
        InferenceService service = inference.get();
        if (service == null) {
            throw new IllegalStateException("the embeddings plugin has not started yet");
        }
        ModelCard card;
        try {
            card = service.registry().installedCard(model);
        } catch (UnknownModelException e) {
            if (ingestNode == false || appliedFromClusterState()) {
                // no documents run here, or the pipeline was validated where the model is installed: this node
                // holds it all the same, failing its own documents alone
                return new AbsentModelProcessor(definition, this::build);
            }
            throw ConfigurationUtils.newConfigurationException(
                    EmbedProcessor.TYPE,
                    tag,
                    "model",
                    e.getMessage() + " (node [" + nodeName + "] validated this pipeline; a node that validates"
                            + " pipelines needs the model's files unless it has no ingest role)");
        } catch (IllegalArgumentException e) {
            // a name that can never be a model (a path, say), or a broken card
            throw ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "model", e.getMessage());
        }
        return build(definition, service, card);
    }

    /** A pipeline's {@code embed} options as read, before its model is resolved on this node. */
    record Definition(
            String tag,
            String description,
            String model,
            Map<String, String> fieldMap,
            boolean ignoreMissing,
            Map<String, Object> chunking,
            Reuse.Option reuse) {}

    /** Resolves the definition's model and chunking on this node; a 400 names what does not fit. */
    EmbedProcessor build(Definition definition) {
        String tag = definition.tag();
        InferenceService service = inference.get();
        if (service == null) {
            throw new IllegalStateException("the embeddings plugin has not started yet");
        }
        ModelCard card;
        try {
            card = service.registry().installedCard(definition.model());
        } catch (IllegalArgumentException e) {
            throw ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "model", e.getMessage());
        }
        return build(definition, service, card);
    }

    /** The processor of {@code definition} for {@code card}, its model resolved once on this node. */
    private EmbedProcessor build(Definition definition, InferenceService service, ModelCard card) {
        String tag = definition.tag();
        Chunking chunking = ChunkingOptions.chunking(tag, definition.chunking(), card);
        if (chunking != null) {
            int window = Math.max(chunking.maxTokens(), chunking.wholeTokens());
            RunMemory memory = service.registry().runMemory(card);
            if (memory.tooLong(window)) {
                throw ConfigurationUtils.newConfigurationException(
                        EmbedProcessor.TYPE,
                        tag,
                        "chunking",
                        memory.windowsRefusal(window).getMessage());
            }
            Map<String, String> targetOfPath = new HashMap<>();
            for (String target : definition.fieldMap().values()) {
                int dot = target.lastIndexOf('.');
                if (dot <= 0 || dot == target.length() - 1) {
                    throw ConfigurationUtils.newConfigurationException(
                            EmbedProcessor.TYPE,
                            tag,
                            "field_map",
                            "with [chunking], target [" + target
                                    + "] must be [PATH.FIELD], where the index maps PATH as [nested]");
                }
                String path = EmbedProcessor.passagePath(target);
                String other = targetOfPath.putIfAbsent(path, target);
                if (other != null) {
                    throw ConfigurationUtils.newConfigurationException(
                            EmbedProcessor.TYPE,
                            tag,
                            "field_map",
                            "with [chunking], targets [" + other + "] and [" + target + "] share the passage path ["
                                    + path + "], which each would replace whole; give each source its own path");
                }
            }
        }
        return new EmbedProcessor(
                tag,
                definition.description(),
                card.name(),
                card.dims(),
                definition.fieldMap(),
                definition.ignoreMissing(),
                chunking,
                ChunkingOptions.titleField(tag, definition.chunking()),
                service,
                fields.get(),
                threadContext,
                breaker,
                new Reuse(definition.reuse(), previous, stats));
    }

    /**
     * Whether this pipeline is being built from a cluster state this node applies (it was validated on the cluster
     * manager when it was put), rather than validated for a put request.
     */
    private static boolean appliedFromClusterState() {
        return Thread.currentThread().getName().contains(ClusterApplierService.CLUSTER_UPDATE_THREAD_NAME);
    }
}

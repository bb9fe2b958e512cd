package org.embeddings.opensearch.rest;

import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.Role;
import org.embeddings.opensearch.inference.InferenceService;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code POST /_plugins/_embeddings/embed} with {@code {"model", "role", "texts": [...]}} answers
 * {@code {"model", "dims", "embeddings": [[...], ...]}}, encoded on this node's inference pool. Bad input is a 400 in
 * OpenSearch's error format; a full inference queue is a 429.
 */
public final class RestEmbedAction extends BaseRestHandler {
    public static final int MAX_TEXTS = 1024;

    private final Supplier<InferenceService> inference;

    public RestEmbedAction(Supplier<InferenceService> inference) {
        this.inference = inference;
    }

    @Override
    public String getName() {
        return "embeddings_embed";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.POST, "/_plugins/_embeddings/embed"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        if (request.hasContent() == false) {
            throw new InvalidInputException("request body is required: {\"model\", \"role\", \"texts\"}");
        }
        Map<String, Object> body;
        try (var parser = request.contentParser()) {
            body = parser.map();
        }
        String model = requireString(body, "model");
        Role role = Role.of(requireString(body, "role"));
        if ((body.get("texts") instanceof List<?>) == false || ((List<?>) body.get("texts")).isEmpty()) {
            throw new InvalidInputException("[texts] must be a non-empty array of strings");
        }
        List<?> raw = (List<?>) body.get("texts");
        if (raw.size() > MAX_TEXTS) {
            throw new InvalidInputException("[texts] holds " + raw.size() + " texts; at most " + MAX_TEXTS + " per request");
        }
        List<String> texts = new ArrayList<>(raw.size());
        for (Object o : raw) {
            if ((o instanceof String) == false) {
                throw new InvalidInputException("[texts] must hold only strings, got [" + o + "]");
            }
            texts.add((String) o);
        }
        String normalized = inference.get().registry().installedCard(model).name();
        return channel -> inference.get().embed(normalized, role, texts, ActionListener.wrap(vectors -> {
            XContentBuilder builder = channel.newBuilder();
            builder.startObject();
            builder.field("model", normalized);
            builder.field("dims", vectors.length == 0 ? 0 : vectors[0].length);
            builder.startArray("embeddings");
            for (float[] v : vectors) {
                builder.value(v);
            }
            builder.endArray();
            builder.endObject();
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
        }, e -> {
            try {
                channel.sendResponse(new BytesRestResponse(channel, e));
            } catch (IOException io) {
                e.addSuppressed(io);
            }
        }));
    }

    private static String requireString(Map<String, Object> body, String key) {
        if (body.get(key) instanceof String s && s.isBlank() == false) {
            return s;
        }
        throw new InvalidInputException("[" + key + "] is required and must be a string");
    }
}

package org.embeddings.opensearch.action;

import static org.opensearch.action.ValidateActions.addValidationError;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.embeddings.encoder.Role;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.ActionRequestValidationException;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentParseException;
import org.opensearch.core.xcontent.XContentParser;

/**
 * {@code {"model", "role": "query" | "passage" | "none", "texts": [...]}}: the texts to encode and the role to prompt
 * them for. Parsing checks shapes only; {@link #validate()} names every problem at once (a 400), and whether the
 * model is installed is the node's question, answered by the transport action.
 */
public final class EmbedRequest extends ActionRequest {
    public static final int MAX_TEXTS = 1024;

    static final ParseField MODEL = new ParseField("model");
    static final ParseField ROLE = new ParseField("role");
    static final ParseField TEXTS = new ParseField("texts");

    private static final class Body {
        String model;
        String role;
        List<String> texts;
    }

    private static final ObjectParser<Body, Void> PARSER = new ObjectParser<>("embed", Body::new);

    static {
        PARSER.declareString((b, v) -> b.model = v, MODEL);
        PARSER.declareString((b, v) -> b.role = v, ROLE);
        PARSER.declareField(
                (b, v) -> b.texts = v, EmbedRequest::parseTexts, TEXTS, ObjectParser.ValueType.STRING_ARRAY);
    }

    /**
     * One string (one text, OpenSearch's convention for arrays) or an array of strings. A number or a boolean is
     * refused rather than read as its text, as the {@code embed} processor refuses a source field that is not a
     * string: a text that is not one is a client's mistake, not something to embed.
     */
    private static List<String> parseTexts(XContentParser parser) throws IOException {
        if (parser.currentToken() == XContentParser.Token.VALUE_STRING) {
            return List.of(parser.text());
        }
        List<String> texts = new ArrayList<>();
        for (XContentParser.Token token = parser.nextToken();
                token != XContentParser.Token.END_ARRAY;
                token = parser.nextToken()) {
            if (token != XContentParser.Token.VALUE_STRING) {
                throw new XContentParseException(
                        parser.getTokenLocation(),
                        "[texts][" + texts.size() + "] must be a string, got [" + token + "]");
            }
            texts.add(parser.text());
        }
        return texts;
    }

    private final String model;
    private final String role;
    private final List<String> texts;

    public EmbedRequest(String model, String role, List<String> texts) {
        this.model = model;
        this.role = role;
        this.texts = texts == null ? null : List.copyOf(texts);
    }

    public EmbedRequest(StreamInput in) throws IOException {
        super(in);
        this.model = in.readOptionalString();
        this.role = in.readOptionalString();
        this.texts = in.readBoolean() ? in.readStringList() : null;
    }

    public static EmbedRequest parse(XContentParser parser) {
        Body body = PARSER.apply(parser, null);
        return new EmbedRequest(body.model, body.role, body.texts);
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeOptionalString(model);
        out.writeOptionalString(role);
        out.writeBoolean(texts != null);
        if (texts != null) {
            out.writeStringCollection(texts);
        }
    }

    @Override
    public ActionRequestValidationException validate() {
        ActionRequestValidationException e = null;
        if (model == null || model.isBlank()) {
            e = addValidationError("[model] is required", e);
        }
        if (role == null) {
            e = addValidationError("[role] is required: one of [query, passage, none]", e);
        } else {
            try {
                Role.of(role);
            } catch (IllegalArgumentException bad) {
                e = addValidationError(bad.getMessage(), e);
            }
        }
        if (texts == null || texts.isEmpty()) {
            e = addValidationError("[texts] must be a non-empty array of strings", e);
        } else if (texts.size() > MAX_TEXTS) {
            e = addValidationError(
                    "[texts] holds " + texts.size() + " texts; at most " + MAX_TEXTS + " per request", e);
        } else {
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i) == null || texts.get(i).isBlank()) {
                    e = addValidationError("[texts][" + i + "] is empty; nothing to embed", e);
                }
            }
        }
        return e;
    }

    public String model() {
        return model;
    }

    public Role role() {
        return Role.of(role);
    }

    public List<String> texts() {
        return texts;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmbedRequest r
                && Objects.equals(model, r.model)
                && Objects.equals(role, r.role)
                && Objects.equals(texts, r.texts);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, role, texts);
    }
}

package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

/** {@code {"model", "dims", "embeddings": [[...], ...]}}, one vector per text, in the request's order. */
public final class EmbedResponse extends ActionResponse implements ToXContentObject {
    private final String model;
    private final float[][] embeddings;

    public EmbedResponse(String model, float[][] embeddings) {
        this.model = model;
        this.embeddings = embeddings;
    }

    public EmbedResponse(StreamInput in) throws IOException {
        super(in);
        this.model = in.readString();
        this.embeddings = new float[in.readVInt()][];
        for (int i = 0; i < embeddings.length; i++) {
            embeddings[i] = in.readFloatArray();
        }
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(model);
        out.writeVInt(embeddings.length);
        for (float[] v : embeddings) {
            out.writeFloatArray(v);
        }
    }

    public String model() {
        return model;
    }

    public float[][] embeddings() {
        return embeddings;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("model", model);
        builder.field("dims", embeddings.length == 0 ? 0 : embeddings[0].length);
        builder.startArray("embeddings");
        for (float[] v : embeddings) {
            builder.value(v);
        }
        builder.endArray();
        return builder.endObject();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmbedResponse r && model.equals(r.model) && Arrays.deepEquals(embeddings, r.embeddings);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, Arrays.deepHashCode(embeddings));
    }
}

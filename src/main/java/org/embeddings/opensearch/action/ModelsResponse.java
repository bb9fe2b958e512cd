package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

/** {@code {"node": id, "models": {name: {...}, ...}}}, models sorted by name. */
public final class ModelsResponse extends ActionResponse implements ToXContentObject {
    private final String node;
    private final List<ModelInfo> models;

    public ModelsResponse(String node, List<ModelInfo> models) {
        this.node = node;
        this.models = List.copyOf(models);
    }

    public ModelsResponse(StreamInput in) throws IOException {
        super(in);
        this.node = in.readString();
        this.models = in.readList(ModelInfo::new);
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(node);
        out.writeList(models);
    }

    public List<ModelInfo> models() {
        return models;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("node", node);
        builder.startObject("models");
        for (ModelInfo model : models) {
            builder.field(model.name());
            model.toXContent(builder, params);
        }
        builder.endObject();
        return builder.endObject();
    }
}

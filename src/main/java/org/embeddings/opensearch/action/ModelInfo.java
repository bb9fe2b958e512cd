package org.embeddings.opensearch.action;

import java.io.IOException;
import org.embeddings.encoder.card.ModelCard;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * One model as a node sees it: whether it is installed there, its state ({@code not_loaded}, {@code loading},
 * {@code loaded}, {@code failed}, {@code backoff}), the error that makes it unusable ({@code broken}: a malformed card,
 * or the reason its last load failed; a model in {@code backoff} failed for the node's reasons and is not broken), and, when its card can be read, the recipe: dims, pooling, normalization, token limit and the
 * prompt of each role.
 */
public record ModelInfo(String name, boolean installed, String state, String error, Recipe recipe)
        implements Writeable, ToXContentObject {
    /** What a card says, as the endpoint shows it. */
    public record Recipe(
            String huggingFaceId,
            int dims,
            String pooling,
            boolean normalize,
            int maxTokens,
            String query,
            String passage,
            String none)
            implements Writeable {

        public static Recipe of(ModelCard card) {
            return new Recipe(
                    card.huggingFaceId(),
                    card.dims(),
                    card.pooling().label(),
                    card.normalize(),
                    card.maxTokens(),
                    card.prompt().query(),
                    card.prompt().passage(),
                    card.prompt().none());
        }

        Recipe(StreamInput in) throws IOException {
            this(
                    in.readOptionalString(),
                    in.readVInt(),
                    in.readString(),
                    in.readBoolean(),
                    in.readVInt(),
                    in.readString(),
                    in.readString(),
                    in.readString());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeOptionalString(huggingFaceId);
            out.writeVInt(dims);
            out.writeString(pooling);
            out.writeBoolean(normalize);
            out.writeVInt(maxTokens);
            out.writeString(query);
            out.writeString(passage);
            out.writeString(none);
        }
    }

    public ModelInfo(StreamInput in) throws IOException {
        this(
                in.readString(),
                in.readBoolean(),
                in.readString(),
                in.readOptionalString(),
                in.readOptionalWriteable(Recipe::new));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(name);
        out.writeBoolean(installed);
        out.writeString(state);
        out.writeOptionalString(error);
        out.writeOptionalWriteable(recipe);
    }

    public boolean loaded() {
        return "loaded".equals(state);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("installed", installed);
        builder.field("loaded", loaded());
        builder.field("state", state);
        builder.field("broken", error != null && "backoff".equals(state) == false);
        if (error != null) {
            builder.field("error", error);
        }
        if (recipe != null) {
            if (recipe.huggingFaceId() != null) {
                builder.field("hugging_face_id", recipe.huggingFaceId());
            }
            builder.field("dims", recipe.dims());
            builder.field("pooling", recipe.pooling());
            builder.field("normalize", recipe.normalize());
            builder.field("max_tokens", recipe.maxTokens());
            builder.startObject("prompts");
            builder.field("query", recipe.query());
            builder.field("passage", recipe.passage());
            builder.field("none", recipe.none());
            builder.endObject();
        }
        return builder.endObject();
    }
}

package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.BytesRef;
import org.embeddings.lucene.ScoredIdsQuery;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.IdFieldMapper;
import org.opensearch.index.mapper.Uid;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryShardContext;

/**
 * What a globally fused {@code fusion} query becomes once the coordinating node has fused the sub-queries' windows
 * over all shards: for each index, the ids of the fused documents and their fused scores. A shard matches the ids of
 * its own index with exactly those scores ({@link ScoredIdsQuery}), so the result is the same however the index is
 * sharded. Internal: it travels from the coordinating node to the shards and cannot be sent by users.
 */
public final class FusedIdsQueryBuilder extends AbstractQueryBuilder<FusedIdsQueryBuilder> {
    public static final String NAME = "embeddings_fused_ids";

    private final Map<String, Map<String, Float>> scoresByIndex;

    FusedIdsQueryBuilder(Map<String, Map<String, Float>> scoresByIndex) {
        this.scoresByIndex = Map.copyOf(scoresByIndex);
    }

    public FusedIdsQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.scoresByIndex =
                in.readMap(StreamInput::readString, i -> i.readMap(StreamInput::readString, StreamInput::readFloat));
    }

    /** Users cannot send this query; it only exists between nodes. */
    public static FusedIdsQueryBuilder parse(XContentParser parser) {
        throw new ParsingException(
                parser.getTokenLocation(), "[" + NAME + "] is internal to [fusion] and cannot be used in a request");
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeMap(
                scoresByIndex,
                StreamOutput::writeString,
                (o, m) -> o.writeMap(m, StreamOutput::writeString, StreamOutput::writeFloat));
    }

    /** Number of fused documents over all indices. */
    public int size() {
        return scoresByIndex.values().stream().mapToInt(Map::size).sum();
    }

    @Override
    protected Query doToQuery(QueryShardContext context) {
        Map<String, Float> ids = scoresByIndex.get(context.index().getName());
        if (ids == null || ids.isEmpty()) {
            return new MatchNoDocsQuery("no fused documents in this index");
        }
        Map<BytesRef, Float> terms = new HashMap<>(ids.size());
        ids.forEach((id, score) -> terms.put(Uid.encodeId(id), score));
        return new ScoredIdsQuery(IdFieldMapper.NAME, terms);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.field("documents", size());
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected boolean doEquals(FusedIdsQueryBuilder other) {
        return scoresByIndex.equals(other.scoresByIndex);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(scoresByIndex);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

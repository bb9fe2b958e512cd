package org.embeddings.opensearch.query;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryShardContext;

/**
 * What a globally fused {@code fusion} query becomes once the coordinating node has fused the sub-queries' windows
 * over all shards: for each index, the ids of the fused documents and their fused scores. A shard matches the ids of
 * its own index with exactly those scores ({@link ScoredIdsQuery}), so the result is the same however the index is
 * sharded. Internal: it travels from the coordinating node to the shards and cannot be sent by users.
 *
 * <p>It carries the fusion's sub-queries (rewritten: an {@code embed_knn} holds its vector) to the shards, where they
 * neither match nor score but are visible in the Lucene query ({@link ScoredIdsQuery}), so that highlighters find the
 * terms and query vectors of the user's query.
 */
public final class FusedIdsQueryBuilder extends AbstractQueryBuilder<FusedIdsQueryBuilder> {
    public static final String NAME = "embeddings_fused_ids";

    private final Map<String, Map<String, Float>> scoresByIndex;
    private final List<QueryBuilder> sources;

    FusedIdsQueryBuilder(Map<String, Map<String, Float>> scoresByIndex, List<QueryBuilder> sources) {
        this.scoresByIndex = Map.copyOf(scoresByIndex);
        this.sources = List.copyOf(sources);
    }

    public FusedIdsQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.scoresByIndex =
                in.readMap(StreamInput::readString, i -> i.readMap(StreamInput::readString, StreamInput::readFloat));
        this.sources = in.readNamedWriteableList(QueryBuilder.class);
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
        out.writeNamedWriteableList(sources);
    }

    /** Number of fused documents over all indices. */
    public int size() {
        return scoresByIndex.values().stream().mapToInt(Map::size).sum();
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        Map<String, Float> ids = scoresByIndex.get(context.index().getName());
        if (ids == null || ids.isEmpty()) {
            return new MatchNoDocsQuery("no fused documents in this index");
        }
        Map<BytesRef, Float> terms = new HashMap<>(ids.size());
        ids.forEach((id, score) -> terms.put(Uid.encodeId(id), score));
        List<Query> lucene = new ArrayList<>(sources.size());
        for (QueryBuilder source : sources) {
            lucene.add(source.toQuery(context));
        }
        return new ScoredIdsQuery(IdFieldMapper.NAME, terms, lucene);
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
        return scoresByIndex.equals(other.scoresByIndex) && sources.equals(other.sources);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(scoresByIndex, sources);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}

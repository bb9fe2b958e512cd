package org.embeddings.opensearch.action;

import java.io.IOException;
import org.embeddings.opensearch.ingest.ReuseStats;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * One model's {@code embed} counters on one node, as the stats API shows them under {@code ingest}: vectors encoded,
 * reused from a document's stored version, deduplicated within a bulk, and skipped because the document carried them
 * (each vector counted once; a passage is a vector), and the stored versions looked up with the time it took.
 */
public record IngestReuse(long encoded, long reused, long deduplicated, long skipped, long lookups, long lookupMillis)
        implements Writeable, ToXContent {

    static IngestReuse of(ReuseStats.Snapshot s) {
        return new IngestReuse(s.encoded(), s.reused(), s.deduplicated(), s.skipped(), s.lookups(), s.lookupMillis());
    }

    IngestReuse(StreamInput in) throws IOException {
        this(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        for (long v : new long[] {encoded, reused, deduplicated, skipped, lookups, lookupMillis}) {
            out.writeVLong(v);
        }
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder b, Params params) throws IOException {
        return b.startObject()
                .field("encoded", encoded)
                .field("reused", reused)
                .field("deduplicated", deduplicated)
                .field("skipped", skipped)
                .field("lookups", lookups)
                .field("lookup_millis", lookupMillis)
                .endObject();
    }
}

package org.embeddings.opensearch.action;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import org.embeddings.encoder.InvalidInputException;
import org.embeddings.encoder.ModelName;
import org.opensearch.action.ActionRequestValidationException;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.nodes.BaseNodeResponse;
import org.opensearch.action.support.nodes.BaseNodesRequest;
import org.opensearch.action.support.nodes.BaseNodesResponse;
import org.opensearch.cluster.ClusterName;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.transport.TransportRequest;

/**
 * The payloads of {@link LoadModelAction} and {@link UnloadModelAction}: one model name for every selected node (all
 * nodes by default), and from each node where that model now stands on it: its state ({@code loaded},
 * {@code loading}, {@code unloaded}, {@code load_cancelled}, {@code not_loaded}, {@code failed}, {@code backoff}), the
 * bytes it maps, and for a failure the reason a client may see (never a path) with its HTTP status. A node that fails
 * to answer at all is a transport-level failure of the nodes response, as in {@code _nodes/stats}.
 */
public final class ModelLifecycle {
    /** How long a load waits for the model on each node unless told ({@code timeout}); past it, it says loading. */
    public static final TimeValue DEFAULT_WAIT = TimeValue.timeValueMinutes(2);

    private ModelLifecycle() {}

    public static final class Request extends BaseNodesRequest<Request> {
        private final String model;
        private final TimeValue waitFor;

        public Request(String model, TimeValue waitFor, String... nodeIds) {
            super(nodeIds);
            this.model = model;
            this.waitFor = Objects.requireNonNull(waitFor);
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
            this.waitFor = in.readTimeValue();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
            out.writeTimeValue(waitFor);
        }

        public String model() {
            return model;
        }

        public TimeValue waitFor() {
            return waitFor;
        }

        @Override
        public ActionRequestValidationException validate() {
            ActionRequestValidationException errors = null;
            try {
                ModelName.normalize(model);
            } catch (InvalidInputException e) {
                errors = new ActionRequestValidationException();
                errors.addValidationError(e.getMessage());
            }
            if (waitFor.nanos() < 0) {
                errors = errors == null ? new ActionRequestValidationException() : errors;
                errors.addValidationError("[timeout] must not be negative, got [" + waitFor + "]");
            }
            return errors;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Request r
                    && model.equals(r.model)
                    && waitFor.equals(r.waitFor)
                    && java.util.Arrays.equals(nodesIds(), r.nodesIds());
        }

        @Override
        public int hashCode() {
            return Objects.hash(model, waitFor, java.util.Arrays.hashCode(nodesIds()));
        }
    }

    public static final class NodeRequest extends TransportRequest {
        private final String model;
        private final TimeValue waitFor;

        public NodeRequest(String model, TimeValue waitFor) {
            this.model = model;
            this.waitFor = waitFor;
        }

        public NodeRequest(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
            this.waitFor = in.readTimeValue();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
            out.writeTimeValue(waitFor);
        }

        public String model() {
            return model;
        }

        public TimeValue waitFor() {
            return waitFor;
        }
    }

    /** Where the model stands on one node after the action; {@code error} and a status above 299 for a failure. */
    public record Outcome(String model, String state, long bytes, String error, int status) {
        public Outcome {
            Objects.requireNonNull(model);
            Objects.requireNonNull(state);
        }

        static Outcome ok(String model, String state, long bytes) {
            return new Outcome(model, state, bytes, null, RestStatus.OK.getStatus());
        }

        Outcome(StreamInput in) throws IOException {
            this(in.readString(), in.readString(), in.readVLong(), in.readOptionalString(), in.readVInt());
        }

        void writeTo(StreamOutput out) throws IOException {
            out.writeString(model);
            out.writeString(state);
            out.writeVLong(bytes);
            out.writeOptionalString(error);
            out.writeVInt(status);
        }
    }

    public static final class NodeResponse extends BaseNodeResponse {
        private final Outcome outcome;

        public NodeResponse(DiscoveryNode node, Outcome outcome) {
            super(node);
            this.outcome = outcome;
        }

        public NodeResponse(StreamInput in) throws IOException {
            super(in);
            this.outcome = new Outcome(in);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            outcome.writeTo(out);
        }

        public Outcome outcome() {
            return outcome;
        }
    }

    public static final class Response extends BaseNodesResponse<NodeResponse> implements ToXContentFragment {
        public Response(StreamInput in) throws IOException {
            super(in);
        }

        public Response(ClusterName clusterName, List<NodeResponse> nodes, List<FailedNodeException> failures) {
            super(clusterName, nodes, failures);
        }

        @Override
        protected List<NodeResponse> readNodesFrom(StreamInput in) throws IOException {
            return in.readList(NodeResponse::new);
        }

        @Override
        protected void writeNodesTo(StreamOutput out, List<NodeResponse> nodes) throws IOException {
            out.writeList(nodes);
        }

        /**
         * The HTTP status of the whole answer: 200 when every node answered without an error, else the highest
         * status among the nodes' errors (a transport failure of a node counts as 500).
         */
        public RestStatus status() {
            int status = failures().isEmpty() ? 200 : 500;
            for (NodeResponse node : getNodes()) {
                if (node.outcome().status() > 299) {
                    status = Math.max(status == 200 ? 0 : status, node.outcome().status());
                }
            }
            return RestStatus.fromCode(status);
        }

        /** The body after the {@code _nodes} header and {@code cluster_name}, which the REST layer writes. */
        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject("nodes");
            for (NodeResponse node : getNodes()) {
                Outcome o = node.outcome();
                builder.startObject(node.getNode().getId());
                builder.field("name", node.getNode().getName());
                builder.field("model", o.model());
                builder.field("state", o.state());
                builder.field("model_bytes", o.bytes());
                if (o.error() != null) {
                    builder.field("error", o.error());
                    builder.field("status", o.status());
                }
                builder.endObject();
            }
            return builder.endObject();
        }
    }
}

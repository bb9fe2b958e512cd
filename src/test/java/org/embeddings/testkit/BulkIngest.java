package org.embeddings.testkit;

import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Loads documents into an index through an ingest pipeline the way the evaluations do, from one client: in their
 * order, {@code perBulk} to a {@code _bulk} request (the last one shorter), each as {@code {"index": {"_id": id}}}
 * and its source, with a {@link Progress} bar; then one refresh. Returns the seconds the bulks took, the refresh
 * not included, so that a docs/s figure measures ingest alone. A request that fails, or a bulk with any failed item,
 * is an exception carrying the first 2,000 characters of the response: a figure over a partial load would mislead.
 */
public final class BulkIngest {
    private BulkIngest() {}

    /** Documents of one field, {@code {"body": text}}, by id. */
    public static double bodies(
            RealNode node, String index, String pipeline, Map<String, String> bodies, int perBulk, String label)
            throws Exception {
        Map<String, JsonObject> sources = new LinkedHashMap<>();
        bodies.forEach((id, text) -> {
            JsonObject source = new JsonObject();
            source.addProperty("body", text);
            sources.put(id, source);
        });
        return sources(node, index, pipeline, sources, perBulk, label);
    }

    /** Documents of any source, by id. */
    public static double sources(
            RealNode node, String index, String pipeline, Map<String, JsonObject> sources, int perBulk, String label)
            throws Exception {
        long start = System.nanoTime();
        StringBuilder bulk = new StringBuilder();
        int done = 0;
        for (Map.Entry<String, JsonObject> doc : sources.entrySet()) {
            bulk.append("{\"index\":{\"_id\":")
                    .append(new JsonPrimitive(doc.getKey()))
                    .append("}}\n")
                    .append(doc.getValue())
                    .append('\n');
            if (++done % perBulk == 0 || done == sources.size()) {
                // an evaluation measures quality, not the document lane's deadline: on a shared 2-core machine a bulk
                // of long documents can take past the default minute, and would be answered with 429s
                RealNode.Response r = node.call(
                        "POST",
                        "/" + index + "/_bulk?timeout=30m&pipeline=" + pipeline,
                        bulk.toString(),
                        "application/x-ndjson");
                check(r);
                if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                    throw new IllegalStateException("bulk had errors: " + cut(r.text()));
                }
                bulk.setLength(0);
                Progress.print(label, done, sources.size(), start);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.err.println();
        check(node.call("POST", "/" + index + "/_refresh", null));
        return seconds;
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " " + cut(r.text()));
        }
    }

    private static String cut(String text) {
        return text.substring(0, Math.min(2000, text.length()));
    }
}

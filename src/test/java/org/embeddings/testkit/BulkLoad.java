package org.embeddings.testkit;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sends bulks of short documents through a pipeline from a background thread until stopped or until the node stops
 * answering, and keeps the books a fault test needs: the ids each bulk item acknowledged (201), the ids reported
 * failed, and the ids of bulks that got no answer at all (the node died under them: neither acked nor failed).
 * Document {@code i} has id {@code d<i>} and a short body of its own. Refused bulks and items are booked and the load
 * goes on; the first request the node does not answer ends it. The books are live views, safe to read while it runs.
 */
public final class BulkLoad implements AutoCloseable {
    private final Set<String> acked = ConcurrentHashMap.newKeySet();
    private final Set<String> failed = ConcurrentHashMap.newKeySet();
    private final Set<String> unanswered = ConcurrentHashMap.newKeySet();
    private final List<String> serverErrors = Collections.synchronizedList(new ArrayList<>());
    private final Thread thread;
    private volatile boolean stop;

    /** Starts sending {@code perBulk} documents a bulk to {@code index} through {@code pipeline}. */
    public BulkLoad(RealNode node, String index, String pipeline, int perBulk) {
        thread = new Thread(
                () -> {
                    int next = 0;
                    while (stop == false) {
                        List<String> ids = new ArrayList<>();
                        StringBuilder bulk = new StringBuilder();
                        for (int i = 0; i < perBulk; i++, next++) {
                            String id = "d" + next;
                            ids.add(id);
                            bulk.append("{\"index\": {\"_id\": \"").append(id).append("\"}}\n");
                            bulk.append("{\"body\": \"Document ")
                                    .append(next)
                                    .append(" on topic ")
                                    .append(next % 17)
                                    .append(" for the fault test.\"}\n");
                        }
                        RealNode.Response r;
                        try {
                            r = node.call(
                                    "POST",
                                    "/" + index + "/_bulk?pipeline=" + pipeline,
                                    bulk.toString(),
                                    "application/x-ndjson");
                        } catch (Exception e) {
                            unanswered.addAll(ids);
                            return;
                        }
                        if (r.status() != 200) {
                            if (r.status() >= 500) {
                                serverErrors.add(r.status() + " " + r.text());
                            }
                            failed.addAll(ids);
                            continue;
                        }
                        for (JsonElement item : r.body().getAsJsonObject().getAsJsonArray("items")) {
                            JsonObject result = item.getAsJsonObject().getAsJsonObject("index");
                            String id = result.get("_id").getAsString();
                            int status = result.get("status").getAsInt();
                            if (status == 201 || status == 200) {
                                acked.add(id);
                            } else {
                                if (status >= 500 && status != 503) {
                                    serverErrors.add(result.toString());
                                }
                                failed.add(id);
                            }
                        }
                    }
                },
                "bulk-load");
        thread.setDaemon(true);
        thread.start();
    }

    /** Ids of documents the node acknowledged (201, or 200 for an id written again). */
    public Set<String> acked() {
        return acked;
    }

    /** Ids of documents refused, alone or with their whole bulk. */
    public Set<String> failed() {
        return failed;
    }

    /** Ids of the bulk that got no answer: the node died under it. */
    public Set<String> unanswered() {
        return unanswered;
    }

    /** A whole bulk's 5xx answers, and items' 5xx other than 503: what no fault may cause. */
    public List<String> serverErrors() {
        return serverErrors;
    }

    /** Waits until {@code count} documents are acknowledged, the load stopped, or {@code timeoutMillis} passed. */
    public void awaitAcked(int count, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (acked.size() < count && thread.isAlive() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(120_000);
    }
}

package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Bad input against a real node, case by case: each must get a 4xx that names the problem, and the documents already
 * stored must be exactly what they were. Prints the table of cases the README shows (case, expected, observed).
 * The node's model memory is limited to 200 MB, so that a second fp32 model is refused with a 429.
 */
public class BadInputIT {
    private static RealNode node;
    private static final List<String> table = new ArrayList<>();

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("bad-input", RealNode.port(60), "embeddings.models.max_loaded_bytes=200mb");
        node.installModel(Path.of(System.getProperty("embeddings.test.models")), "e5-small-v2");
        ok(node.call("PUT", "/docs", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"}, "title": {"type": "keyword"},
               "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}, "small": {"type": "embedding", "dims": 3}}}}"""));
        ok(node.call("PUT", "/_ingest/pipeline/embed", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        ok(node.call("PUT", "/_ingest/pipeline/lenient", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}, "ignore_missing": true}}]}"""));
        ok(node.call(
                "PUT",
                "/docs/_doc/kept?pipeline=embed&refresh=true",
                "{\"body\": \"a document stored before the bad input\"}"));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        System.out.println("| case | expected | observed |\n|---|---|---|");
        table.forEach(System.out::println);
        if (node != null) {
            node.close();
        }
    }

    private static void ok(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    /** Asserts the status and a fragment of the error, and records the row. */
    private static void expect(String name, RealNode.Response r, int status, String fragment) {
        String reason = r.status() >= 400 ? reason(r) : "indexed";
        table.add("| " + name + " | " + status + (fragment.isEmpty() ? "" : ", names `" + fragment + "`") + " | "
                + r.status() + ": " + reason.replace("|", "/") + " |");
        assertEquals(name + ": " + r.text(), status, r.status());
        assertTrue(name + ": " + r.text(), r.text().contains(fragment));
    }

    private static String reason(RealNode.Response r) {
        JsonObject body = r.body().getAsJsonObject();
        if (body.has("error") && body.get("error").isJsonObject()) {
            JsonObject error = body.getAsJsonObject("error");
            JsonObject cause = error.has("root_cause")
                    ? error.getAsJsonArray("root_cause").get(0).getAsJsonObject()
                    : error;
            String text = cause.get("reason").getAsString();
            return text.length() > 140 ? text.substring(0, 140) + "..." : text;
        }
        return r.text();
    }

    private static RealNode.Response index(String id, String source) throws Exception {
        return node.call("PUT", "/docs/_doc/" + id + "?pipeline=embed&refresh=true", source);
    }

    private static RealNode.Response search(String query) throws Exception {
        return node.call("POST", "/docs/_search", "{\"query\": " + query + "}");
    }

    @Test
    public void everyBadInputIsA4xxAndNothingStoredChanges() throws Exception {
        expect(
                "pipeline with an unknown model",
                node.call("PUT", "/_ingest/pipeline/x", """
            {"processors": [{"embed": {"model": "no-such-model", "field_map": {"body": "vec"}}}]}"""),
                400,
                "unknown model [no-such-model]");
        expect(
                "pipeline with a model name holding a path",
                node.call("PUT", "/_ingest/pipeline/x", """
            {"processors": [{"embed": {"model": "../../etc", "field_map": {"body": "vec"}}}]}"""),
                400,
                "invalid model name");
        ok(node.call("PUT", "/_ingest/pipeline/to_keyword", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "title"}}}]}"""));
        expect(
                "field_map target is a keyword field",
                node.call("PUT", "/docs/_doc/t2?pipeline=to_keyword", "{\"body\": \"text\"}"),
                400,
                "is of type [keyword], not [embedding]");
        ok(node.call("PUT", "/_ingest/pipeline/to_small", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "small"}}}]}"""));
        expect(
                "field_map target has the wrong dims",
                node.call("PUT", "/docs/_doc/t3?pipeline=to_small", "{\"body\": \"text\"}"),
                400,
                "[3] dims");
        expect("source field missing", index("m1", "{\"title\": \"no body\"}"), 400, "ignore_missing");
        expect(
                "source field missing, ignore_missing",
                node.call("PUT", "/docs/_doc/m2?pipeline=lenient&refresh=true", "{\"title\": \"no body\"}"),
                201,
                "");
        expect("source null", index("n1", "{\"body\": null}"), 400, "missing or null");
        expect("source a number", index("n2", "{\"body\": 42}"), 400, "must be a string");
        expect("source an object", index("n3", "{\"body\": {\"a\": 1}}"), 400, "must be a string");
        expect(
                "source an array of strings (rejected: one vector per field)",
                index("n4", "{\"body\": [\"a\", \"b\"]}"),
                400,
                "must be a string");
        expect("empty text", index("e1", "{\"body\": \"\"}"), 400, "is empty");
        expect("whitespace-only text", index("e2", "{\"body\": \" \\t\\n \"}"), 400, "is empty");
        expect(
                "1 MB text (truncated to 512 tokens)",
                index("big", "{\"body\": \"" + "lorem ipsum dolor sit amet ".repeat(40_000) + "\"}"),
                201,
                "");
        expect(
                "control characters",
                index("ctl", "{\"body\": \"bell\\u0007 nul\\u0000 escape\\u001b text\"}"),
                201,
                "");
        byte[] invalid = "{\"body\": \"bad \u00ff\u00fe bytes\"}".getBytes(StandardCharsets.ISO_8859_1);
        expect(
                "invalid UTF-8",
                node.call("PUT", "/docs/_doc/utf?pipeline=embed", invalid, "application/json"),
                400,
                "");
        expect(
                "vector given directly with wrong dims",
                node.call("PUT", "/docs/_doc/v1", "{\"small\": [1, 2]}"),
                400,
                "[3] dims");
        expect(
                "vector given directly with NaN",
                node.call("PUT", "/docs/_doc/v2", "{\"small\": [1, \"NaN\", 3]}"),
                400,
                "small");
        expect(
                "mapping dims 0",
                node.call(
                        "PUT",
                        "/m0",
                        "{\"mappings\": {\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 0}}}}"),
                400,
                "needs [dims]");
        expect(
                "mapping dims huge",
                node.call(
                        "PUT",
                        "/m1",
                        "{\"mappings\": {\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 100000}}}}"),
                400,
                "100000");
        expect(
                "mapping unknown similarity",
                node.call(
                        "PUT",
                        "/m2",
                        "{\"mappings\": {\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 3, \"similarity\": \"manhattan\"}}}}"),
                400,
                "manhattan");
        expect(
                "mapping unknown model",
                node.call(
                        "PUT",
                        "/m3",
                        "{\"mappings\": {\"properties\": {\"v\": {\"type\": \"embedding\", \"model\": \"nope\"}}}}"),
                400,
                "nope");

        expect(
                "query with an unknown model",
                search("{\"embed_knn\": {\"small\": {\"query_text\": \"x\", \"model\": \"nope\"}}}"),
                400,
                "unknown model [nope]");
        expect(
                "query k = 0",
                search("{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"k\": 0}}}"),
                400,
                "[k] must be within");
        expect(
                "query k = 10001",
                search("{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"k\": 10001}}}"),
                400,
                "[k] must be within");
        expect(
                "query empty query_text",
                search("{\"embed_knn\": {\"vec\": {\"query_text\": \"  \"}}}"),
                400,
                "non-empty [query_text]");
        expect(
                "embed_knn on a keyword field",
                search("{\"embed_knn\": {\"title\": {\"query_text\": \"x\", \"model\": \"bge-small-en-v1.5\"}}}"),
                400,
                "needs a field of type [embedding]");
        expect(
                "embed_knn naming another model than the field's",
                search("{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"model\": \"e5-small-v2\"}}}"),
                400,
                "is bound to model");
        expect("malformed fusion (no queries)", search("{\"fusion\": {\"queries\": []}}"), 400, "non-empty [queries]");
        expect(
                "malformed fusion (unknown option)",
                search("{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"windows\": 3}}"),
                400,
                "windows");
        expect(
                "embed API with an empty text",
                node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"bge-small-en-v1.5\", \"role\": \"query\", \"texts\": [\"ok\", \"\"]}"),
                400,
                "is empty");
        expect(
                "embed API with an unknown role",
                node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"bge-small-en-v1.5\", \"role\": \"boss\", \"texts\": [\"ok\"]}"),
                400,
                "boss");
        expect(
                "second fp32 model past embeddings.models.max_loaded_bytes",
                node.call(
                        "POST",
                        "/_plugins/_embeddings/embed",
                        "{\"model\": \"e5-small-v2\", \"role\": \"query\", \"texts\": [\"ok\"]}"),
                429,
                "max_loaded_bytes");

        String bulk = """
            {"index":{"_id":"b1"}}
            {"body":"good one"}
            {"index":{"_id":"b2"}}
            {"body":""}
            {"index":{"_id":"b3"}}
            {"small":[1,2]}
            {"index":{"_id":"b4"}}
            {"body":"good two"}
            """;
        RealNode.Response mixed =
                node.call("POST", "/docs/_bulk?pipeline=embed&refresh=true", bulk, "application/x-ndjson");
        JsonArray items = mixed.body().getAsJsonObject().getAsJsonArray("items");
        List<Integer> statuses = new ArrayList<>();
        items.forEach(i -> statuses.add(
                i.getAsJsonObject().getAsJsonObject("index").get("status").getAsInt()));
        table.add("| bulk of good, empty-text, wrong-dims, good | 201, 400, 400, 201 | " + statuses + " |");
        assertEquals(List.of(201, 400, 400, 201), statuses);

        // what is stored: the original, the ignore_missing one, the big and control-character ones, the two good bulk
        // items
        RealNode.Response stored =
                node.call("POST", "/docs/_search", "{\"size\": 100, \"_source\": false, \"sort\": [\"_doc\"]}");
        List<String> ids = new ArrayList<>();
        stored.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        assertEquals(List.of("kept", "m2", "big", "ctl", "b1", "b4"), ids);
        RealNode.Response kept = node.call("GET", "/docs/_doc/kept", null);
        assertEquals(
                384,
                kept.body()
                        .getAsJsonObject()
                        .getAsJsonObject("_source")
                        .getAsJsonArray("vec")
                        .size());
    }
}

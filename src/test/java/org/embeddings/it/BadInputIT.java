package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.embeddings.testkit.RealNode;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Bad input against a real node, case by case, across the REST APIs, ingest, the query DSL and mappings: each case
 * asserts its status and the fragment of the reason that names the problem, and each group then checks what is
 * stored: exactly the documents expected, each with its vector. Prints the table docs/reliability.md shows (case,
 * expected, observed). A case that fails is recorded and the group goes on, so that one run shows every case's
 * outcome; the group fails at its end. The node's model memory is limited to 200 MB, so that a second fp32 model is
 * refused with a 429. (Cases about model files live in their own test.)
 */
public class BadInputIT {
    private static final int DIMS = 384;
    private static RealNode node;
    /** Rows by group, printed in group order. */
    private static final Map<String, List<String>> table = Collections.synchronizedMap(new TreeMap<>());
    /** The cases of the running group that did not come out as expected. */
    private static final List<String> failures = new ArrayList<>();

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("bad-input", RealNode.port(60), "embeddings.models.max_loaded_bytes=200mb");
        node.installModel(Path.of(System.getProperty("embeddings.test.models")), "e5-small-v2");
        ok(node.call("PUT", "/_ingest/pipeline/embed", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        System.out.println("| area | case | expected | observed |\n|---|---|---|---|");
        table.forEach((group, rows) -> rows.forEach(row -> System.out.println("| " + group.substring(2) + " " + row)));
        if (node != null) {
            node.close();
        }
    }

    @Before
    public void clearFailures() {
        failures.clear();
    }

    @After
    public void everyCaseCameOutAsExpected() {
        assertTrue(String.join("\n", failures), failures.isEmpty());
    }

    private static void ok(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    /** Asserts the status and a fragment of the error, and records the row under {@code group}. */
    private static void expect(String group, String name, RealNode.Response r, int status, String fragment) {
        String reason = r.status() >= 400 ? reason(r) : r.status() == 201 ? "indexed" : "answered";
        row(
                group,
                "| " + name + " | " + status + (fragment.isEmpty() ? "" : ", names `" + fragment + "`") + " | "
                        + r.status() + ": " + reason.replace("|", "/") + " |");
        if (r.status() != status || r.text().contains(fragment) == false) {
            failures.add(name + ": expected " + status + " naming [" + fragment + "], got " + r.status() + ": "
                    + shorten(r.text()));
        }
    }

    /** A soft check: records a failure and goes on. */
    private static void check(String name, boolean ok, String observed) {
        if (ok == false) {
            failures.add(name + ": " + shorten(observed));
        }
    }

    private static void row(String group, String row) {
        table.computeIfAbsent(group, g -> Collections.synchronizedList(new ArrayList<>()))
                .add(row);
    }

    private static String reason(RealNode.Response r) {
        JsonObject body = r.body().getAsJsonObject();
        if (body.has("error") && body.get("error").isJsonObject()) {
            return shorten(rootReason(body.getAsJsonObject("error")));
        }
        return shorten(r.text());
    }

    private static String rootReason(JsonObject error) {
        JsonObject cause = error.has("root_cause")
                ? error.getAsJsonArray("root_cause").get(0).getAsJsonObject()
                : error;
        return cause.get("reason").getAsString();
    }

    private static String shorten(String text) {
        return text.length() > 140 ? text.substring(0, 140) + "..." : text;
    }

    private static RealNode.Response put(String path, String body) throws Exception {
        return node.call("PUT", path, body);
    }

    private static RealNode.Response search(String index, String query) throws Exception {
        return node.call("POST", "/" + index + "/_search", "{\"query\": " + query + "}");
    }

    /** One bulk item's outcome: its status and, for a failure, its reason. */
    record Item(int status, String reason) {}

    private static List<Item> bulk(String path, String ndjson) throws Exception {
        RealNode.Response r = node.call("POST", path, ndjson, "application/x-ndjson");
        assertEquals(r.text(), 200, r.status());
        List<Item> items = new ArrayList<>();
        for (JsonElement e : r.body().getAsJsonObject().getAsJsonArray("items")) {
            JsonObject result =
                    e.getAsJsonObject().entrySet().iterator().next().getValue().getAsJsonObject();
            items.add(new Item(
                    result.get("status").getAsInt(),
                    result.has("error")
                            ? result.getAsJsonObject("error").get("reason").getAsString()
                            : ""));
        }
        return items;
    }

    private static List<Integer> statuses(List<Item> items) {
        return items.stream().map(Item::status).toList();
    }

    /** The ids stored in {@code index}, sorted. */
    private static List<String> ids(String index) throws Exception {
        ok(node.call("POST", "/" + index + "/_refresh", null));
        RealNode.Response r = node.call(
                "POST", "/" + index + "/_search", "{\"size\": 10000, \"_source\": false, \"sort\": [\"_id\"]}");
        ok(r);
        List<String> ids = new ArrayList<>();
        r.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        return ids;
    }

    /** The stored source of one document. */
    private static JsonObject source(String index, String id) throws Exception {
        RealNode.Response r = node.call("GET", "/" + index + "/_doc/" + id, null);
        ok(r);
        return r.body().getAsJsonObject().getAsJsonObject("_source");
    }

    /** Asserts that document {@code id} holds a vector of the model's dims in {@code field}. */
    private static void assertVector(String index, String id, String field) throws Exception {
        JsonObject source = source(index, id);
        JsonElement value = source;
        for (String part : field.split("\\.")) {
            value = value.getAsJsonObject().get(part);
        }
        assertEquals(
                index + "/" + id + ": " + source, DIMS, value.getAsJsonArray().size());
    }

    private static String mapping(String properties) {
        return "{\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0}, \"mappings\": {\"properties\": "
                + properties + "}}";
    }

    private static String pipeline(String fieldMap) {
        return "{\"processors\": [{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"field_map\": " + fieldMap + "}}]}";
    }

    // ---- ingest: the source fields

    @Test
    public void badSourcesFailTheirDocumentAlone() throws Exception {
        String g = "2 ingest sources";
        ok(put("/docs", mapping("""
            {"body": {"type": "text"}, "title": {"type": "keyword"},
             "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}, "small": {"type": "embedding", "dims": 3}}""")));
        ok(put(
                "/docs/_doc/kept?pipeline=embed&refresh=true",
                "{\"body\": \"a document stored before the bad input\"}"));
        ok(put("/_ingest/pipeline/lenient", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}, "ignore_missing": true}}]}"""));
        expect(
                g,
                "source field missing",
                put("/docs/_doc/m1?pipeline=embed", "{\"title\": \"no body\"}"),
                400,
                "ignore_missing");
        expect(
                g,
                "source field missing, ignore_missing",
                put("/docs/_doc/m2?pipeline=lenient", "{\"title\": \"x\"}"),
                201,
                "");
        expect(g, "source null", put("/docs/_doc/n1?pipeline=embed", "{\"body\": null}"), 400, "missing or null");
        expect(g, "source a number", put("/docs/_doc/n2?pipeline=embed", "{\"body\": 42}"), 400, "must be a string");
        expect(
                g,
                "source an object",
                put("/docs/_doc/n3?pipeline=embed", "{\"body\": {\"a\": 1}}"),
                400,
                "must be a string");
        expect(
                g,
                "source an array of strings without chunking (rejected: one vector per field)",
                put("/docs/_doc/n4?pipeline=embed", "{\"body\": [\"a\", \"b\"]}"),
                400,
                "is an array; pre-chunked input (one passage per element) needs [chunking]");
        expect(g, "empty text", put("/docs/_doc/e1?pipeline=embed", "{\"body\": \"\"}"), 400, "is empty");
        expect(
                g,
                "whitespace-only text",
                put("/docs/_doc/e2?pipeline=embed", "{\"body\": \" \\t\\n \"}"),
                400,
                "is empty");
        expect(
                g,
                "1 MB text (truncated to 512 tokens)",
                put(
                        "/docs/_doc/big?pipeline=embed",
                        "{\"body\": \"" + "lorem ipsum dolor sit amet ".repeat(40_000) + "\"}"),
                201,
                "");
        expect(
                g,
                "control characters",
                put("/docs/_doc/ctl?pipeline=embed", "{\"body\": \"bell\\u0007 nul\\u0000 escape\\u001b text\"}"),
                201,
                "");
        byte[] invalid = "{\"body\": \"bad \u00ff\u00fe bytes\"}".getBytes(StandardCharsets.ISO_8859_1);
        expect(
                g,
                "invalid UTF-8",
                node.call("PUT", "/docs/_doc/utf?pipeline=embed", invalid, "application/json"),
                400,
                "");
        expect(
                g,
                "vector given directly with wrong dims",
                put("/docs/_doc/v1", "{\"small\": [1, 2]}"),
                400,
                "[3] dims");
        expect(g, "vector given directly with NaN", put("/docs/_doc/v2", "{\"small\": [1, \"NaN\", 3]}"), 400, "small");
        // finite components whose squared magnitude a float cannot hold: cosine would score them infinite or NaN
        expect(
                g,
                "vector given directly with components of 1e20 (cosine)",
                put("/docs/_doc/v3", "{\"small\": [1e20, 1e20, 1e20]}"),
                400,
                "squared magnitude overflows");
        expect(
                g,
                "vector given directly with components of 1e-30 (cosine)",
                put("/docs/_doc/v4", "{\"small\": [1e-30, 0, 0]}"),
                400,
                "underflows a float to 0");
        expect(
                g,
                "vector given directly, all zeros (cosine)",
                put("/docs/_doc/v5", "{\"small\": [0, 0, 0]}"),
                400,
                "all zeros");
        List<Item> mixed = bulk("/docs/_bulk?pipeline=embed", """
            {"index":{"_id":"b1"}}
            {"body":"good one"}
            {"index":{"_id":"b2"}}
            {"body":""}
            {"index":{"_id":"b3"}}
            {"small":[1,2]}
            {"index":{"_id":"b4"}}
            {"body":"good two"}
            """);
        row(g, "| bulk of good, empty-text, wrong-dims, good | 201, 400, 400, 201 | " + statuses(mixed) + " |");
        check("mixed bulk", statuses(mixed).equals(List.of(201, 400, 400, 201)), mixed.toString());

        // the processor's own failure handling: ignore_failure stores the bad document as it came, on_failure runs
        // its processors on it; in a bulk (the batch path) as for one document
        ok(put("/_ingest/pipeline/ignoring", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}, "ignore_failure": true}}]}"""));
        ok(put("/_ingest/pipeline/handling", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"},
              "on_failure": [{"set": {"field": "title", "value": "{{_ingest.on_failure_message}}"}}]}}]}"""));
        for (String pipeline : List.of("ignoring", "handling")) {
            List<Item> handled = bulk("/docs/_bulk?pipeline=" + pipeline, """
                {"index":{"_id":"PIPELINE-1"}}
                {"body":"good one"}
                {"index":{"_id":"PIPELINE-2"}}
                {"body":""}
                """.replace("PIPELINE", pipeline));
            row(
                    g,
                    "| bulk of good, empty-text through `embed` with "
                            + (pipeline.equals("ignoring") ? "`ignore_failure`" : "`on_failure`") + " | 201, 201 | "
                            + statuses(handled) + " |");
            check(pipeline + " bulk", statuses(handled).equals(List.of(201, 201)), handled.toString());
        }

        // more passages than the index allows nested documents: refused before any window is encoded, and alone
        ok(put("/nested-few", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.mapping.nested_objects.limit": 5},
             "mappings": {"properties": {"body": {"type": "text"}, "p": {"type": "nested", "properties": {
               "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}}}"""));
        ok(put("/_ingest/pipeline/few", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "p.vec"},
              "chunking": {"max_tokens": 32, "overlap_tokens": 0}}}]}"""));
        List<Item> nested = bulk("/nested-few/_bulk?pipeline=few", """
            {"index":{"_id":"short"}}
            {"body":"Rivers begin in the mountains."}
            {"index":{"_id":"long"}}
            {"body":"%s"}
            """.replace(
                        "%s", "Rivers carry silt from the mountains down to the delta where it settles. ".repeat(40)));
        row(
                g,
                "| bulk of a short text and one cut into more passages than `index.mapping.nested_objects.limit` (5) | "
                        + "201, 400 naming the limit | " + statuses(nested) + ": "
                        + shorten(nested.get(1).reason())
                        + " |");
        check(
                "nested limit bulk",
                statuses(nested).equals(List.of(201, 400))
                        && nested.get(1).reason().contains("more than index [nested-few] allows nested documents"),
                nested.toString());
        assertEquals(List.of("short"), ids("nested-few"));

        assertEquals(
                List.of("b1", "b4", "big", "ctl", "handling-1", "handling-2", "ignoring-1", "ignoring-2", "kept", "m2"),
                ids("docs"));
        for (String id : List.of("b1", "b4", "big", "ctl", "kept", "ignoring-1", "handling-1")) {
            assertVector("docs", id, "vec");
        }
        assertFalse(source("docs", "m2").has("vec"));
        assertFalse(source("docs", "ignoring-2").has("vec"));
        JsonObject handled = source("docs", "handling-2");
        assertFalse(handled.has("vec"));
        assertTrue(handled.toString(), handled.get("title").getAsString().contains("is empty; nothing to embed"));
    }

    // ---- ingest: targets, resolved through aliases, data streams, date math and templates

    @Test
    public void targetsAreCheckedWhereTheWriteLands() throws Exception {
        String g = "3 ingest targets";
        ok(put("/t-docs", mapping("""
            {"body": {"type": "text"}, "title": {"type": "keyword"},
             "vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
             "other": {"type": "embedding", "model": "e5-small-v2"},
             "meta": {"properties": {"vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}""")));
        ok(node.call("POST", "/_aliases", """
            {"actions": [{"add": {"index": "t-docs", "alias": "t-alias", "is_write_index": true}}]}"""));
        ok(put("/_ingest/pipeline/to_title", pipeline("{\"body\": \"title\"}")));
        ok(put("/_ingest/pipeline/to_typo", pipeline("{\"body\": \"vecc\"}")));
        ok(put("/_ingest/pipeline/to_other", pipeline("{\"body\": \"other\"}")));
        ok(put("/_ingest/pipeline/to_meta", pipeline("{\"body\": \"meta.vec\"}")));

        expect(
                g,
                "target a keyword field, by index name",
                put("/t-docs/_doc/k1?pipeline=to_title", "{\"body\": \"x\"}"),
                400,
                "is of type [keyword], not [embedding]");
        expect(
                g,
                "target a keyword field, through an alias",
                put("/t-alias/_doc/k2?pipeline=to_title", "{\"body\": \"x\"}"),
                400,
                "target field [title] of index [t-docs] is of type [keyword]");
        expect(
                g,
                "target bound to another model",
                put("/t-alias/_doc/k3?pipeline=to_other", "{\"body\": \"x\"}"),
                400,
                "is bound to model [e5-small-v2], but this pipeline embeds with [bge-small-en-v1.5]");
        expect(
                g,
                "target not mapped (a typo in field_map)",
                put("/t-docs/_doc/k4?pipeline=to_typo", "{\"body\": \"x\"}"),
                400,
                "target field [vecc] is not mapped in index [t-docs]");
        expect(
                g,
                "good document through the alias",
                put("/t-alias/_doc/ok1?pipeline=embed", "{\"body\": \"fine\"}"),
                201,
                "");

        // a data stream: its backing index's mapping comes from the template
        ok(put("/_index_template/t-stream", """
            {"index_patterns": ["t-stream*"], "data_stream": {}, "template": {
              "settings": {"number_of_shards": 1, "number_of_replicas": 0},
              "mappings": {"properties": {"title": {"type": "keyword"},
                "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}}"""));
        expect(
                g,
                "target a keyword field of a data stream not created yet",
                node.call(
                        "POST",
                        "/t-stream/_doc?pipeline=to_title",
                        "{\"@timestamp\": \"2025-01-01\", \"body\": \"x\"}"),
                400,
                "target field [title] of index [t-stream] (to be created from templates) is of type [keyword]");
        expect(
                g,
                "good document into the data stream",
                node.call(
                        "POST",
                        "/t-stream/_doc?pipeline=embed&refresh=true",
                        "{\"@timestamp\": \"2025-01-01\", \"body\": \"fine\"}"),
                201,
                "");
        RealNode.Response keyword = node.call(
                "POST", "/t-stream/_doc?pipeline=to_title", "{\"@timestamp\": \"2025-01-01\", \"body\": \"x\"}");
        expect(g, "target a keyword field of a data stream", keyword, 400, "of index [.ds-t-stream-");

        // date math, resolved to today's index
        String today = LocalDate.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy.MM.dd", Locale.ROOT));
        ok(put(
                "/t-daily-" + today,
                mapping("{\"title\": {\"type\": \"keyword\"}, \"vec\": {\"type\": \"embedding\","
                        + " \"model\": \"bge-small-en-v1.5\"}}")));
        String dateMath = URLEncoder.encode("<t-daily-{now/d}>", StandardCharsets.UTF_8);
        expect(
                g,
                "target a keyword field, through date math",
                put("/" + dateMath + "/_doc/d1?pipeline=to_title", "{\"body\": \"x\"}"),
                400,
                "of index [t-daily-" + today + "] is of type [keyword]");

        // a new index: its templates' mapping, dynamic templates included
        expect(
                g,
                "new index without a template mapping the target",
                put("/t-new/_doc/1?pipeline=embed", "{\"body\": \"x\"}"),
                400,
                "target field [vec] is not mapped in index [t-new] (to be created");
        ok(put("/_index_template/t-tmpl", """
            {"index_patterns": ["t-tmpl-*"], "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
              "mappings": {"properties": {"vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}}"""));
        expect(
                g,
                "new index whose template maps the target",
                put("/t-tmpl-1/_doc/1?pipeline=embed&refresh=true", "{\"body\": \"fine\"}"),
                201,
                "");
        ok(put("/t-dyn", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": {"dynamic_templates": [
              {"floats": {"match": "*_f", "mapping": {"type": "float"}}},
              {"vecs": {"match": "*_vec", "mapping": {"type": "embedding", "model": "bge-small-en-v1.5"}}}]}}"""));
        ok(put("/_ingest/pipeline/to_dyn_vec", pipeline("{\"body\": \"body_vec\"}")));
        ok(put("/_ingest/pipeline/to_dyn_f", pipeline("{\"body\": \"body_f\"}")));
        expect(
                g,
                "unmapped target a dynamic template maps as embedding",
                put(
                        "/t-dyn/_doc/1?pipeline=to_dyn_vec" + "&refresh=true",
                        "{\"body\": \"plants turn sunlight into sugar\"}"),
                201,
                "");
        expect(
                g,
                "unmapped target a dynamic template maps as float",
                put("/t-dyn/_doc/2?pipeline=to_dyn_f", "{\"body\": \"x\"}"),
                400,
                "dynamic template [floats] would map it as [float]");
        RealNode.Response found =
                search("t-dyn", "{\"embed_knn\": {\"body_vec\": {\"query_text\": \"photosynthesis\"}}}");
        ok(found);
        assertEquals(
                found.text(),
                1,
                found.body()
                        .getAsJsonObject()
                        .getAsJsonObject("hits")
                        .getAsJsonArray("hits")
                        .size());

        // a document whose vector cannot be written fails alone
        List<Item> items = bulk("/t-docs/_bulk?pipeline=to_meta", """
            {"index":{"_id":"w1"}}
            {"body":"first"}
            {"index":{"_id":"w2"}}
            {"body":"second","meta":"a string, not an object"}
            {"index":{"_id":"w3"}}
            {"body":"third"}
            """);
        row(
                g,
                "| bulk where the second document's `meta` is a string (target `meta.vec`) | 201, 400, 201 | "
                        + statuses(items) + ": " + shorten(items.get(1).reason()) + " |");
        check(
                "write-back bulk",
                statuses(items).equals(List.of(201, 400, 201))
                        && items.get(1).reason().contains("cannot write the vector into target field [meta.vec]"),
                items.toString());

        // duplicate targets, refused when the pipeline is created
        expect(
                g,
                "two sources with one target",
                put("/_ingest/pipeline/dup", pipeline("{\"body\": \"vec\", \"title\": \"vec\"}")),
                400,
                "sources [body] and [title] both write target [vec]");
        expect(
                g,
                "a target that is its source",
                put("/_ingest/pipeline/self", pipeline("{\"body\": \"body\"}")),
                400,
                "target [body] of source [body] is the source itself");
        expect(
                g,
                "a target inside its source",
                put("/_ingest/pipeline/inside", pipeline("{\"body\": \"body.vec\"}")),
                400,
                "lies inside the source");
        expect(
                g,
                "a target that is another entry's source",
                put("/_ingest/pipeline/chain", pipeline("{\"body\": \"vec\", \"vec\": \"vec2\"}")),
                400,
                "target [vec] of source [body] overlaps source [vec]");
        expect(
                g,
                "with chunking, two targets on one passage path",
                put("/_ingest/pipeline/dup2", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "chunking": {},
              "field_map": {"body": "p.vec", "title": "p.vec2"}}}]}"""),
                400,
                "share the passage path [p]");
        assertEquals(404, node.call("GET", "/_ingest/pipeline/dup", null).status());
        assertEquals(404, node.call("GET", "/_ingest/pipeline/chain", null).status());
        assertEquals(404, node.call("GET", "/_ingest/pipeline/self", null).status());

        assertEquals(List.of("ok1", "w1", "w3"), ids("t-docs"));
        assertVector("t-docs", "ok1", "vec");
        assertVector("t-docs", "w1", "meta.vec");
        assertVector("t-docs", "w3", "meta.vec");
        assertEquals(List.of("1"), ids("t-tmpl-1"));
        assertVector("t-tmpl-1", "1", "vec");
        assertEquals(List.of("1"), ids("t-dyn"));
        assertVector("t-dyn", "1", "body_vec");
        assertEquals(1, ids("t-stream").size());
        assertEquals(List.of(), ids("t-daily-" + today));
        assertEquals(404, node.call("GET", "/t-new", null).status());
    }

    // ---- ingest: unpaired surrogates

    @Test
    public void unpairedSurrogatesAreReadAsReplacementCharacters() throws Exception {
        String g = "4 ingest surrogates";
        ok(put("/s-docs", mapping("""
            {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
             "passages": {"type": "nested", "properties": {"vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}""")));
        ok(put("/_ingest/pipeline/chunk", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
              "chunking": {"max_tokens": 64}}}]}"""));
        String before = "Some words of a sentence that goes on. ".repeat(40);
        String after = " More text after the lone surrogate, in sentences.".repeat(20);
        String lone = before + "\\ud83d" + after; // JSON escape: the text holds one unpaired high surrogate
        List<Item> items = bulk(
                "/s-docs/_bulk?pipeline=chunk",
                "{\"index\":{\"_id\":\"s1\"}}\n{\"body\":\"" + before
                        + "\"}\n{\"index\":{\"_id\":\"s2\"}}\n{\"body\":\"" + lone
                        + "\"}\n{\"index\":{\"_id\":\"s3\"}}\n"
                        + "{\"body\":\"" + after + "\"}\n");
        row(
                g,
                "| chunked bulk: good, a text with an unpaired surrogate, good (decided: read as U+FFFD) | 201, 201, 201"
                        + " | " + statuses(items) + " |");
        check("surrogate bulk", statuses(items).equals(List.of(201, 201, 201)), items.toString());
        expect(
                g,
                "plain text with an unpaired surrogate",
                put("/s-docs/_doc/s4?pipeline=embed", "{\"body\": \"" + "lone \\udc00 low surrogate\"}"),
                201,
                "");

        // spans index the stored text: they cover it, in order, and the one over the surrogate holds it
        JsonObject stored = source("s-docs", "s2");
        String text = stored.get("body").getAsString();
        assertEquals(before.length() + 1 + after.length(), text.length());
        JsonArray passages = stored.getAsJsonArray("passages");
        assertTrue(passages.size() > 2);
        int surrogate = before.length();
        boolean covered = false;
        int previousEnd = 0;
        for (JsonElement p : passages) {
            int start = p.getAsJsonObject().get("start").getAsInt();
            int end = p.getAsJsonObject().get("end").getAsInt();
            assertTrue(stored.toString(), start >= 0 && start <= previousEnd && end > start && end <= text.length());
            assertEquals(DIMS, p.getAsJsonObject().getAsJsonArray("vec").size());
            covered |= start <= surrogate && surrogate < end;
            previousEnd = end;
        }
        assertEquals(text.length(), previousEnd);
        assertTrue(covered);
        assertEquals(List.of("s1", "s2", "s3", "s4"), ids("s-docs"));
        assertVector("s-docs", "s4", "vec");
    }

    // ---- query DSL

    @Test
    public void badQueriesAre400s() throws Exception {
        String g = "5 query DSL";
        ok(put("/q-docs", mapping("""
            {"body": {"type": "text"}, "title": {"type": "keyword"},
             "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}, "small": {"type": "embedding", "dims": 3}}""")));
        ok(put("/q-docs/_doc/1?pipeline=embed&refresh=true", "{\"body\": \"plants make food from sunlight\"}"));
        String knn = "{\"embed_knn\": {\"vec\": {\"query_text\": \"food\", \"k\": 5}}}";
        expect(
                g,
                "query with an unknown model",
                search("q-docs", "{\"embed_knn\": {\"small\": {\"query_text\": \"x\", \"model\": \"nope\"}}}"),
                400,
                "unknown model [nope]");
        expect(
                g,
                "query_vector whose squared magnitude overflows (cosine)",
                search("q-docs", "{\"embed_knn\": {\"small\": {\"query_vector\": [1e20, 1, 1]}}}"),
                400,
                "cannot search with this [query_vector]: its squared magnitude overflows");
        expect(
                g,
                "query_vector of components of 1e-30 (cosine)",
                search("q-docs", "{\"embed_knn\": {\"small\": {\"query_vector\": [1e-30, 1e-30, 0]}}}"),
                400,
                "underflows a float to 0");
        expect(
                g,
                "query k = 0",
                search("q-docs", "{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"k\": 0}}}"),
                400,
                "[k] must be within");
        expect(
                g,
                "query k = 10001",
                search("q-docs", "{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"k\": 10001}}}"),
                400,
                "[k] must be within");
        expect(
                g,
                "query empty query_text",
                search("q-docs", "{\"embed_knn\": {\"vec\": {\"query_text\": \"  \"}}}"),
                400,
                "non-empty [query_text]");
        expect(
                g,
                "embed_knn on a keyword field",
                search(
                        "q-docs",
                        "{\"embed_knn\": {\"title\": {\"query_text\": \"x\", \"model\": \"bge-small-en-v1.5\"}}}"),
                400,
                "needs a field of type [embedding]");
        expect(
                g,
                "embed_knn naming another model than the field's",
                search("q-docs", "{\"embed_knn\": {\"vec\": {\"query_text\": \"x\", \"model\": \"e5-small-v2\"}}}"),
                400,
                "is bound to model");
        expect(
                g,
                "fusion without queries",
                search("q-docs", "{\"fusion\": {\"queries\": []}}"),
                400,
                "non-empty [queries]");
        expect(
                g,
                "fusion with an unknown option",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"windows\": 3}}"),
                400,
                "windows");
        expect(
                g,
                "fusion with an unknown method",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"method\": \"borda\"}}"),
                400,
                "unknown [method]");
        expect(
                g,
                "fusion window_size 0",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"window_size\": 0}}"),
                400,
                "[window_size]");
        expect(
                g,
                "fusion with fewer weights than queries",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}, " + knn + "], \"weights\": [1]}}"),
                400,
                "give one weight per query");
        expect(
                g,
                "fusion with a negative weight",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"weights\": [-1]}}"),
                400,
                "[weights] must be");
        expect(
                g,
                "fusion with weights that overflow a float sum",
                search(
                        "q-docs",
                        "{\"fusion\": {\"method\": " + "\"linear\", \"queries\": [{\"match_all\": {}}, " + knn
                                + "], \"weights\": [3e38, 3e38]}}"),
                400,
                "[weights] must be within [0, 10000]");
        expect(
                g,
                "fusion rank_constant 2147483647",
                search(
                        "q-docs",
                        "{\"fusion\": {\"queries\": [{\"match_all\": {}}," + " " + knn
                                + "], \"rank_constant\": 2147483647}}"),
                400,
                "[rank_constant] must be within [1, 10000]");
        expect(
                g,
                "fusion rank_constant 0",
                search("q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}], \"rank_constant\": 0}}"),
                400,
                "[rank_constant]");
        RealNode.Response largest = search(
                "q-docs", "{\"fusion\": {\"queries\": [{\"match_all\": {}}, " + knn + "], \"rank_constant\": 10000}}");
        expect(g, "fusion rank_constant 10000 (the largest)", largest, 200, "");
        double score = largest.body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .get(0)
                .getAsJsonObject()
                .get("_score")
                .getAsDouble();
        check("rank_constant 10000 scores 2 / 10001", Math.abs(score - 2.0 / 10001) < 1e-6, largest.text());
        StringBuilder eleven = new StringBuilder("{\"fusion\": {\"queries\": [");
        for (int i = 0; i < 11; i++) {
            eleven.append(i == 0 ? "" : ", ")
                    .append("{\"match\": {\"body\": \"w")
                    .append(i)
                    .append("\"}}");
        }
        expect(g, "fusion of 11 sub-queries", search("q-docs", eleven + "]}}"), 400, "at most 10 [queries]");
        expect(g, "fusion nested 9 deep", search("q-docs", nested(9, knn)), 400, "nests more than 5 deep");
        expect(
                g,
                "fusion nested 6 deep inside bool",
                search("q-docs", "{\"bool\": {\"must\": [" + nested(6, knn) + "]}}"),
                400,
                "nests more than 5 deep");
        RealNode.Response five = search("q-docs", nested(5, knn));
        expect(g, "fusion nested 5 deep over embed_knn (the deepest)", five, 200, "");
        assertEquals(
                1,
                five.body()
                        .getAsJsonObject()
                        .getAsJsonObject("hits")
                        .getAsJsonArray("hits")
                        .size());
        assertEquals(List.of("1"), ids("q-docs"));
        assertVector("q-docs", "1", "vec");
    }

    /** {@code depth} fusions, each of the one below and a match, over {@code leaf}. */
    private static String nested(int depth, String leaf) {
        String q = leaf;
        for (int i = 0; i < depth; i++) {
            q = "{\"fusion\": {\"queries\": [" + q + ", {\"match\": {\"body\": \"plants\"}}]}}";
        }
        return q;
    }

    // ---- mappings

    @Test
    public void badMappingsAre400s() throws Exception {
        String g = "6 mappings";
        expect(
                g,
                "mapping dims 0",
                put("/m0", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 0}}")),
                400,
                "needs [dims]");
        expect(
                g,
                "mapping dims 100000",
                put("/m1", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 100000}}")),
                400,
                "100000");
        expect(
                g,
                "mapping unknown similarity",
                put("/m2", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"similarity\": \"manhattan\"}}")),
                400,
                "manhattan");
        expect(
                g,
                "mapping unknown model",
                put("/m3", mapping("{\"v\": {\"type\": \"embedding\", \"model\": \"nope\"}}")),
                400,
                "nope");
        expect(
                g,
                "mapping model and dims that disagree",
                put(
                        "/m4",
                        mapping("{\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\", \"dims\": 3}}")),
                400,
                "produces [384]");
        expect(
                g,
                "mapping a model name holding a path",
                put("/m5", mapping("{\"v\": {\"type\": \"embedding\", \"model\": \"../x\", \"dims\": 3}}")),
                400,
                "invalid model name");
        expect(
                g,
                "mapping unknown index_options type",
                put(
                        "/m6",
                        mapping(
                                "{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"index_options\": {\"type\": \"ivf\"}}}")),
                400,
                "ivf");
        expect(
                g,
                "mapping `embedding` with multi-fields",
                put(
                        "/m7",
                        mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"fields\": "
                                + "{\"raw\": {\"type\": \"keyword\"}}}}")),
                400,
                "can't have multi-fields");
        expect(
                g,
                "mapping `embedding` as a text field's multi-field",
                put(
                        "/m8",
                        mapping("{\"body\": {\"type\": \"text\", \"fields\": "
                                + "{\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\"}}}}")),
                400,
                "can't be a multi-field");
        expect(
                g,
                "mapping text `copy_to` an `embedding` field",
                put(
                        "/m9",
                        mapping("{\"body\": {\"type\": \"text\", \"copy_to\": \"v\"}, "
                                + "\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\"}}")),
                400,
                "field [body] of type [text] can't [copy_to] [v]");
        expect(
                g,
                "mapping `embedding` `copy_to` a keyword",
                put(
                        "/m10",
                        mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"copy_to\": \"k\"}, "
                                + "\"k\": {\"type\": \"keyword\"}}")),
                400,
                "it is of type [keyword]");
        expect(
                g,
                "mapping `embedding` `copy_to` an unmapped field",
                put("/m11", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"copy_to\": \"w\"}}")),
                400,
                "it is not mapped");
        expect(
                g,
                "mapping `embedding` `copy_to` one of other dims",
                put(
                        "/m12",
                        mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"copy_to\": \"w\"}, "
                                + "\"w\": {\"type\": \"embedding\", \"dims\": 4}}")),
                400,
                "it has [4] dims");
        expect(
                g,
                "mapping `embedding` `copy_to` one bound to another model",
                put(
                        "/m13",
                        mapping("{\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\", "
                                + "\"copy_to\": \"w\"}, "
                                + "\"w\": {\"type\": \"embedding\", \"model\": \"e5-small-v2\"}}")),
                400,
                "bound to model [e5-small-v2]");
        expect(
                g,
                "mapping `embedding` with `index: false`",
                put("/m15", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"index\": false}}")),
                400,
                "is always indexed for [embed_knn]");
        expect(
                g,
                "mapping `embedding` with `store: true`",
                put("/m16", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"store\": true}}")),
                400,
                "can't be stored apart");
        expect(
                g,
                "mapping `embedding` with `doc_values: true`",
                put("/m17", mapping("{\"v\": {\"type\": \"embedding\", \"dims\": 3, \"doc_values\": true}}")),
                400,
                "has no [doc_values]");
        for (String index : List.of(
                "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11", "m12", "m13", "m15", "m16",
                "m17")) {
            assertEquals(index, 404, node.call("GET", "/" + index, null).status());
        }

        // added later to an index that holds vectors: refused, and the index keeps its mapping and documents
        ok(put(
                "/m14",
                mapping("{\"body\": {\"type\": \"text\"}, \"vec\": {\"type\": \"embedding\", "
                        + "\"model\": \"bge-small-en-v1.5\"}}")));
        ok(put("/m14/_doc/1?pipeline=embed&refresh=true", "{\"body\": \"plants make food from light\"}"));
        expect(
                g,
                "mapping update: text `copy_to` an `embedding` field",
                put("/m14/_mapping", "{\"properties\": {\"title\": {\"type\": \"text\", \"copy_to\": \"vec\"}}}"),
                400,
                "field [title] of type [text] can't [copy_to] [vec]");
        RealNode.Response kept = node.call("GET", "/m14/_mapping", null);
        check("m14 mapping unchanged", kept.text().contains("title") == false, kept.text());
        assertEquals(List.of("1"), ids("m14"));
        assertVector("m14", "1", "vec");
    }

    // ---- REST APIs

    @Test
    public void badRestCallsAre4xx() throws Exception {
        String g = "1 REST";
        expect(
                g,
                "pipeline with an unknown model",
                put("/_ingest/pipeline/x", """
            {"processors": [{"embed": {"model": "no-such-model", "field_map": {"body": "vec"}}}]}"""),
                400,
                "unknown model [no-such-model]");
        expect(
                g,
                "pipeline with a model name holding a path",
                put("/_ingest/pipeline/x", """
            {"processors": [{"embed": {"model": "../../etc", "field_map": {"body": "vec"}}}]}"""),
                400,
                "invalid model name");
        String embed = "/_plugins/_embeddings/embed";
        expect(
                g,
                "embed API with an empty text",
                node.call(
                        "POST",
                        embed,
                        "{\"model\": \"bge-small-en-v1.5\", \"role\": \"query\", \"texts\": [\"ok\", \"\"]}"),
                400,
                "is empty");
        expect(
                g,
                "embed API with an unknown role",
                node.call("POST", embed, "{\"model\": \"bge-small-en-v1.5\", \"role\": \"boss\", \"texts\": [\"ok\"]}"),
                400,
                "boss");
        expect(
                g,
                "embed API with an unknown model",
                node.call("POST", embed, "{\"model\": \"nope\", \"role\": \"query\", \"texts\": [\"ok\"]}"),
                400,
                "unknown model [nope]");
        expect(
                g,
                "embed API with texts an object",
                node.call(
                        "POST",
                        embed,
                        "{\"model\": \"bge-small-en-v1.5\", \"role\": \"query\", \"texts\": {\"a\": \"b\"}}"),
                400,
                "texts");
        expect(
                g,
                "embed API with a number among the texts",
                node.call(
                        "POST",
                        embed,
                        "{\"model\": \"bge-small-en-v1.5\", \"role\": \"query\", \"texts\": [\"a\", 5]}"),
                400,
                "[texts][1] must be a string, got [VALUE_NUMBER]");
        expect(g, "embed API with malformed JSON", node.call("POST", embed, "{\"model\": "), 400, "");
        expect(
                g,
                "second fp32 model past embeddings.models.max_loaded_bytes",
                node.call("POST", embed, "{\"model\": \"e5-small-v2\", \"role\": \"query\", \"texts\": [\"ok\"]}"),
                429,
                "max_loaded_bytes");

        // vector stats resolve indices as any index request does (what a security plugin filters on)
        ok(put("/r-docs", mapping("{\"vec\": {\"type\": \"embedding\", \"dims\": 3}}")));
        ok(put("/r-other", mapping("{\"vec\": {\"type\": \"embedding\", \"dims\": 3}}")));
        ok(node.call(
                "POST", "/_aliases", "{\"actions\": [{\"add\": {\"index\": \"r-docs\", \"alias\": \"r-alias\"}}]}"));
        ok(put("/r-docs/_doc/1?refresh=true", "{\"vec\": [1, 0, 0]}"));
        expect(
                g,
                "vector stats of a missing index",
                node.call("GET", "/_plugins/_embeddings/vectors/r-missing", null),
                404,
                "no such index [r-missing]");
        RealNode.Response alias = node.call("GET", "/_plugins/_embeddings/vectors/r-alias", null);
        expect(g, "vector stats through an alias: its index only", alias, 200, "");
        JsonObject indices = alias.body().getAsJsonObject().getAsJsonObject("indices");
        assertEquals(alias.text(), List.of("r-docs"), new ArrayList<>(indices.keySet()));
        assertEquals(
                1,
                indices.getAsJsonObject("r-docs")
                        .getAsJsonObject("fields")
                        .getAsJsonObject("vec")
                        .getAsJsonObject("primaries")
                        .get("vectors")
                        .getAsInt());
        assertEquals(List.of("1"), ids("r-docs"));
    }

    // ---- bounded memory: the breaker

    @Test
    public void vectorsPastTheBreakerAre429sAndEveryStoredDocumentHasItsVector() throws Exception {
        String g = "7 breaker";
        ok(put("/p-docs", mapping("""
            {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}""")));
        // 4 MB holds two slices of 256 one-word documents (6,568 bytes a vector): the rest of the bulk is refused
        ok(put("/_cluster/settings", "{\"transient\": {\"embeddings.breaker.limit\": \"4mb\"}}"));
        try {
            int count = 2000;
            StringBuilder ndjson = new StringBuilder();
            for (int i = 0; i < count; i++) {
                ndjson.append("{\"index\":{\"_id\":\"p")
                        .append(i)
                        .append("\"}}\n{\"body\":\"word")
                        .append(i)
                        .append("\"}\n");
            }
            List<Item> items = bulk("/p-docs/_bulk?pipeline=embed", ndjson.toString());
            long created = items.stream().filter(i -> i.status() == 201).count();
            long refused = items.stream().filter(i -> i.status() == 429).count();
            Item first =
                    items.stream().filter(i -> i.status() == 429).findFirst().orElseThrow();
            row(
                    g,
                    "| bulk of 2,000 one-word documents, breaker at 4 MB | 201s, then 429s naming `embeddings.breaker"
                            + ".limit`; nothing else | " + created + " x 201, " + refused + " x 429: "
                            + shorten(first.reason()) + " |");
            assertEquals(items.toString(), count, created + refused);
            assertTrue(created > 0 && refused > 0);
            assertTrue(first.reason(), first.reason().contains("embeddings.breaker.limit"));
            List<String> stored = ids("p-docs");
            assertEquals(created, stored.size());
            RealNode.Response withVectors =
                    node.call("POST", "/p-docs/_count", "{\"query\": {\"exists\": {\"field\": \"vec\"}}}");
            assertEquals(
                    created, withVectors.body().getAsJsonObject().get("count").getAsLong());
            assertVector("p-docs", stored.get(0), "vec");
            // answered: nothing stays charged
            RealNode.Response breakers = node.call("GET", "/_nodes/_local/stats/breaker", null);
            JsonObject nodeStats = breakers.body()
                    .getAsJsonObject()
                    .getAsJsonObject("nodes")
                    .entrySet()
                    .iterator()
                    .next()
                    .getValue()
                    .getAsJsonObject();
            JsonObject embeddings = nodeStats.getAsJsonObject("breakers").getAsJsonObject("embeddings");
            assertEquals(
                    embeddings.toString(),
                    0,
                    embeddings.get("estimated_size_in_bytes").getAsLong());
            assertTrue(embeddings.toString(), embeddings.get("tripped").getAsLong() > 0);
            expect(
                    g,
                    "one document after the bulk was answered",
                    put("/p-docs/_doc/after?pipeline=embed", "{\"body\": \"room again\"}"),
                    201,
                    "");
            assertVector("p-docs", "after", "vec");
        } finally {
            ok(put("/_cluster/settings", "{\"transient\": {\"embeddings.breaker.limit\": null}}"));
        }
        assertEquals(200, node.call("GET", "/", null).status());
    }
}

package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.embeddings.testkit.RealNode;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Model files and model lifecycles on real nodes from the distribution: what a client is told about a model that is
 * not installed, broken files (a truncated {@code model.onnx}, a malformed card, a missing tokenizer), a model a search
 * may not load, an int8 directory the node cannot write; {@code _load} and {@code _unload} while requests use the
 * model; and a memory limit that refuses an int8 build before it starts. Every error reason a client gets is checked
 * to hold no file-system path (the node's log holds them), and every status to be the one its cause deserves: 400 for
 * the files or the request, 429 for the memory limit, 503 for the node's transient trouble. The tests share two nodes
 * and run in any order: a test that needs the int8 form absent ({@link #withoutTheInt8Form}) puts it so first, and
 * queries with texts of its own, since a query vector another test left in the cache is served without the model.
 */
public class ModelFilesIT {
    private static final String BGE = "bge-small-en-v1.5";
    private static final String INT8 = BGE + "-int8";
    private static final String CARD = """
        {"dims": 384, "pooling": "cls", "normalize": true, "max_tokens": 512, "prompts": {"query": "q: "}}""";

    private static RealNode node;
    private static RealNode limited;
    private static final List<String> table = Collections.synchronizedList(new ArrayList<>());

    @BeforeClass
    public static void startNodes() throws Exception {
        Path models = Path.of(System.getProperty("embeddings.test.models"));
        node = RealNode.start("model-files", RealNode.port(30));
        node.installCustomModel(models, BGE, "broken-onnx", CARD, 1 << 20);
        node.installCustomModel(models, BGE, "bad-card", "{\"dims\": 384, \"pooling\": ", 0);
        node.installCustomModel(models, BGE, "no-tokenizer", CARD, 0);
        Files.delete(node.dir().resolve("config/embeddings/models/no-tokenizer/tokenizer.json"));
        ok(node.call("PUT", "/docs", """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"},
               "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}, "free": {"type": "embedding", "dims": 384}}}}"""));
        ok(node.call("PUT", "/_ingest/pipeline/embed", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}"""));
        ok(node.call("POST", "/docs/_bulk?pipeline=embed&refresh=true", """
            {"index": {"_id": "1"}}
            {"body": "Glaciers carve valleys as they slowly flow downhill."}
            {"index": {"_id": "2"}}
            {"body": "The recipe needs two eggs and a cup of flour."}
            """, "application/x-ndjson"));
        limited = RealNode.start("model-limits", RealNode.port(31), "embeddings.models.max_loaded_bytes=100mb");
    }

    @AfterClass
    public static void stopNodes() throws Exception {
        System.out.println("| case | status | reason |\n|---|---|---|");
        table.forEach(System.out::println);
        for (RealNode n : new RealNode[] {node, limited}) {
            if (n != null) {
                n.close();
            }
        }
    }

    private static JsonObject ok(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
        return r.body().getAsJsonObject();
    }

    private static RealNode.Response embed(RealNode on, String model) throws Exception {
        return on.call("POST", "/_plugins/_embeddings/embed", String.format(Locale.ROOT, """
            {"model": "%s", "role": "query", "texts": ["where do glaciers flow"]}""", model));
    }

    private static RealNode.Response search(String field, String model, String text) throws Exception {
        String modelField = model == null ? "" : ", \"model\": \"" + model + "\"";
        return node.call("POST", "/docs/_search", String.format(Locale.ROOT, """
            {"query": {"embed_knn": {"%s": {"query_text": "%s"%s, "k": 2}}}}""", field, text, modelField));
    }

    /** Asserts the status, a fragment of the reason and that no reason holds a path; records the row. */
    private static void expect(RealNode on, String name, RealNode.Response r, int status, String fragment)
            throws Exception {
        List<String> reasons = ClientErrors.reasons(r.body());
        table.add("| " + name + " | " + r.status() + " | "
                + (reasons.isEmpty() ? "" : reasons.get(0).replace("|", "/")) + " |");
        assertEquals(name + ": " + r.text(), status, r.status());
        assertTrue(name + ": " + r.text(), r.text().contains(fragment));
        ClientErrors.assertNoPath(on, r);
    }

    private static JsonObject listed(RealNode on, String model) throws Exception {
        return ok(on.call("GET", "/_plugins/_embeddings/models", null))
                .getAsJsonObject("models")
                .getAsJsonObject(model);
    }

    /**
     * Puts BGE's int8 form back as a fresh node has it, whichever tests ran before: unloaded, and nothing of it on
     * disk, where a build would write it (a directory, or the file a failed run of the unwritable-directory test
     * left in its place).
     */
    private static void withoutTheInt8Form() throws Exception {
        ok(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_unload", null));
        Path int8 = node.dir().toRealPath().resolve("data/nodes/0/embeddings/int8");
        if (Files.isDirectory(int8)) {
            try (var files = Files.walk(int8)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
        Files.deleteIfExists(int8);
        assertEquals("not_loaded", listed(node, INT8).get("state").getAsString());
        assertEquals(List.of(), int8Files(node));
    }

    /** Files under the node's int8 directory. */
    private static List<Path> int8Files(RealNode on) throws Exception {
        try (var files = Files.walk(on.dir().toRealPath())) {
            return files.filter(p -> p.toString().contains("embeddings/int8/")).toList();
        }
    }

    @Test
    public void aModelThatIsNotInstalledIsA400WithoutAPath() throws Exception {
        expect(
                node,
                "embed API, model not installed",
                embed(node, "e5-small-v2"),
                400,
                "is not installed on this node");
        expect(
                node,
                "embed API, int8 form of a model not installed",
                embed(node, "e5-small-v2-int8"),
                400,
                "is the int8 form of [e5-small-v2], which is not installed");
        expect(
                node,
                "pipeline, model not installed",
                node.call("PUT", "/_ingest/pipeline/absent", """
                    {"processors": [{"embed": {"model": "e5-small-v2", "field_map": {"body": "vec"}}}]}"""),
                400,
                "is not installed on this node");
        expect(
                node,
                "embed_knn, model not installed",
                search("free", "e5-small-v2", "glaciers"),
                400,
                "is not installed on this node");
        expect(
                node,
                "_load, model not installed",
                node.call("POST", "/_plugins/_embeddings/models/e5-small-v2/_load", null),
                400,
                "is not installed on this node");
        expect(node, "embed API, unknown model", embed(node, "no-such-model"), 400, "unknown model [no-such-model]");
    }

    @Test
    public void brokenFilesAre400sNamingTheFileButNotItsPath() throws Exception {
        expect(
                node,
                "embed API, truncated model.onnx",
                embed(node, "broken-onnx"),
                400,
                "model [broken-onnx]: ONNX Runtime cannot load model.onnx");
        expect(
                node,
                "_load, truncated model.onnx",
                node.call("POST", "/_plugins/_embeddings/models/broken-onnx/_load", null),
                400,
                "ONNX Runtime cannot load model.onnx");
        expect(node, "embed API, malformed card.json", embed(node, "bad-card"), 400, "has a malformed card.json");
        expect(
                node,
                "pipeline, malformed card.json",
                node.call("PUT", "/_ingest/pipeline/bad", """
                    {"processors": [{"embed": {"model": "bad-card", "field_map": {"body": "vec"}}}]}"""),
                400,
                "has a malformed card.json");
        expect(
                node,
                "embed API, missing tokenizer.json",
                embed(node, "no-tokenizer"),
                400,
                "model [no-tokenizer] has no tokenizer.json in its folder");
        for (String broken : List.of("broken-onnx", "bad-card", "no-tokenizer")) {
            JsonObject model = listed(node, broken);
            assertTrue(model.toString(), model.get("broken").getAsBoolean());
            assertTrue(model.toString(), model.get("error").getAsString().contains("[" + broken + "]"));
        }
        ClientErrors.assertNoPath(node, node.call("GET", "/_plugins/_embeddings/models", null));
        // the node's log has what the client was spared: where the broken file lies
        assertTrue(node.log().contains("config/embeddings/models/broken-onnx"));
    }

    @Test
    public void aSearchMayNotLoadAModelNoMappingOrPipelineNames() throws Exception {
        withoutTheInt8Form();
        long start = System.nanoTime();
        // a text no other test searches: a query vector already in the cache would need no model at all
        RealNode.Response refused = search("free", INT8, "moraines left by a retreating glacier");
        long millis = (System.nanoTime() - start) / 1_000_000;
        expect(
                node,
                "embed_knn, a model no mapping or pipeline names",
                refused,
                400,
                "embeddings.models.load_on_query");
        assertTrue(refused.text(), refused.text().contains("_plugins/_embeddings/models/" + INT8 + "/_load"));
        assertEquals("not_loaded", listed(node, INT8).get("state").getAsString());
        assertEquals("nothing was built", List.of(), int8Files(node));
        table.add("| (refused in " + millis + " ms) | | |");
        // a model a mapping binds loads on a search's demand, as before
        assertEquals(200, search("vec", null, "glaciers").status());
    }

    @Test
    public void anUnwritableInt8DirectoryIsA503RetriedNotRememberedAsBroken() throws Exception {
        withoutTheInt8Form();
        Path data = node.dir().toRealPath().resolve("data/nodes/0");
        assertTrue(data.toString(), Files.isDirectory(data));
        UserPrincipal owner = Files.getOwner(data);
        Path embeddings = Files.createDirectories(data.resolve("embeddings"));
        Files.setOwner(embeddings, owner);
        Path blocker = data.resolve("embeddings/int8");
        Files.writeString(blocker, "a file where the node wants its int8 directory");

        RealNode.Response failed = embed(node, INT8);
        expect(node, "embed API, int8 directory cannot be written", failed, 503, "cannot build the int8 form");
        assertTrue(failed.text(), failed.text().contains("I/O error"));
        JsonObject listed = listed(node, INT8);
        assertEquals(listed.toString(), "backoff", listed.get("state").getAsString());
        assertFalse(listed.toString(), listed.get("broken").getAsBoolean());
        assertTrue("the log names the directory", node.log().contains("embeddings/int8"));

        Files.delete(blocker);
        Thread.sleep(1_500); // the first backoff is one second
        RealNode.Response recovered = embed(node, INT8);
        assertEquals(recovered.text(), 200, recovered.status());
        assertEquals("loaded", listed(node, INT8).get("state").getAsString());
    }

    @Test
    public void loadAndUnloadAreOperatorActsSafeWhileRequestsUseTheModel() throws Exception {
        JsonObject loaded = ok(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_load", null));
        JsonObject one = loaded.getAsJsonObject("nodes")
                .entrySet()
                .iterator()
                .next()
                .getValue()
                .getAsJsonObject();
        assertEquals(loaded.toString(), "loaded", one.get("state").getAsString());
        assertTrue(loaded.toString(), one.get("model_bytes").getAsLong() > 1_000_000);
        assertEquals(200, search("free", INT8, "glaciers").status());

        // clients keep using the model while an operator unloads and loads it again and again
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger served = new AtomicInteger();
        Map<String, Integer> statuses = Collections.synchronizedMap(new TreeMap<>());
        List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; stop.get() == false; i++) {
                    try {
                        RealNode.Response r = i % 2 == 0
                                ? embed(node, INT8)
                                : search("free", INT8, "client " + client + " asks question " + i);
                        statuses.merge(Integer.toString(r.status()), 1, Integer::sum);
                        if (r.status() == 200) {
                            served.incrementAndGet();
                        } else if (r.status() != 503
                                && (r.status() != 400 || r.text().contains("load_on_query") == false)) {
                            unexpected.add(r.status() + " " + r.text());
                        } else {
                            ClientErrors.assertNoPath(node, r);
                        }
                    } catch (Exception | AssertionError e) {
                        unexpected.add(e.toString());
                    }
                }
            }));
        }
        for (int round = 0; round < 6; round++) {
            Thread.sleep(300);
            JsonObject unloaded = ok(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_unload", null));
            assertTrue(unloaded.toString(), unloaded.toString().contains("\"state\":\"unloaded\""));
            Thread.sleep(200);
            ok(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_load", null));
        }
        stop.set(true);
        for (Thread t : clients) {
            t.join(120_000);
        }
        table.add("| unload/load x6 under 3 clients | " + statuses + " | |");
        assertEquals(unexpected.toString(), List.of(), unexpected);
        assertTrue(statuses.toString(), served.get() > 0);
        // the node is up, its model works, and nothing crashed natively
        assertEquals(200, node.call("GET", "/", null).status());
        assertEquals(200, search("free", INT8, "still there").status());
        try (var files = Files.list(node.dir().toRealPath())) {
            assertEquals(
                    "no JVM crash log",
                    List.of(),
                    files.filter(f -> f.getFileName().toString().startsWith("hs_err"))
                            .toList());
        }
        JsonObject unloaded = ok(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_unload", null));
        assertNotNull(unloaded.getAsJsonObject("nodes"));
        assertEquals("not_loaded", listed(node, INT8).get("state").getAsString());
        RealNode.Response again =
                ok200OrFail(node.call("POST", "/_plugins/_embeddings/models/" + INT8 + "/_unload", null));
        assertTrue(again.text(), again.text().contains("\"state\":\"not_loaded\""));
    }

    private static RealNode.Response ok200OrFail(RealNode.Response r) {
        assertEquals(r.text(), 200, r.status());
        return r;
    }

    @Test
    public void anInt8BuildPastTheMemoryLimitIsRefusedBeforeItStarts() throws Exception {
        long start = System.nanoTime();
        RealNode.Response refused = embed(limited, INT8);
        long millis = (System.nanoTime() - start) / 1_000_000;
        expect(
                limited,
                "embed API, int8 build past max_loaded_bytes",
                refused,
                429,
                "embeddings.models.max_loaded_bytes");
        assertEquals("no int8 file was built", List.of(), int8Files(limited));
        table.add("| (refused in " + millis + " ms, before any build) | | |");
        expect(
                limited,
                "_load, fp32 model past max_loaded_bytes",
                limited.call("POST", "/_plugins/_embeddings/models/" + BGE + "/_load", null),
                429,
                "embeddings.models.max_loaded_bytes");
    }
}

package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.embeddings.testkit.RealNode;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * {@code bge-small-en-v1.5-int8} on a real node from the distribution, with only the bundled fp32 model: the plugin
 * (with the ONNX protobuf classes it carries, and OpenSearch's own protobuf-java) installs and starts, the models
 * list shows the int8 form, the embed API and a pipeline, a bound field and {@code embed_knn} use it, the stats give
 * its bytes, and its file is written under the node's data path (which the node's security policy must allow).
 * After a restart the file is reused, not rebuilt.
 */
public class Int8IT {
    private static final String INT8 = "bge-small-en-v1.5-int8";
    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("int8", RealNode.port(70));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static JsonObject ok(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
        return r.body().getAsJsonObject();
    }

    private static List<Path> int8Files() throws Exception {
        // a clone the node user cannot reach keeps the node under /tmp, linked from target/: walk the real folder
        try (var files = Files.walk(node.dir().toRealPath())) {
            return files.filter(p -> p.toString().contains("embeddings/int8/")
                            && p.toString().endsWith(".onnx"))
                    .toList();
        }
    }

    private static float[][] embed(String role, List<String> texts) throws Exception {
        JsonObject body = new JsonObject();
        body.addProperty("model", INT8);
        body.addProperty("role", role);
        JsonArray array = new JsonArray();
        texts.forEach(array::add);
        body.add("texts", array);
        JsonArray embeddings = ok(node.call("POST", "/_plugins/_embeddings/embed", body.toString()))
                .getAsJsonArray("embeddings");
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = floats(embeddings.get(i).getAsJsonArray());
        }
        return out;
    }

    private static float[] floats(JsonArray v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = v.get(i).getAsFloat();
        }
        return f;
    }

    /** Indexes {@code texts} (ids "t0", "t1", ... by position in {@code ids}) through the int8 pipeline. */
    private static void bulk(String index, List<String> texts, List<String> ids) throws Exception {
        StringBuilder request = new StringBuilder();
        for (int i = 0; i < texts.size(); i++) {
            JsonObject source = new JsonObject();
            source.addProperty("body", texts.get(i));
            request.append("{\"index\": {\"_id\": \"")
                    .append(ids.get(i))
                    .append("\"}}\n")
                    .append(source)
                    .append('\n');
        }
        JsonObject r = ok(node.call(
                "POST", "/" + index + "/_bulk?pipeline=" + index, request.toString(), "application/x-ndjson"));
        assertEquals(
                r.toString().substring(0, Math.min(500, r.toString().length())),
                false,
                r.get("errors").getAsBoolean());
    }

    private static float[] stored(String index, String id) throws Exception {
        return floats(ok(node.call("GET", "/" + index + "/_doc/" + id, null))
                .getAsJsonObject("_source")
                .getAsJsonArray("vec"));
    }

    /**
     * A text's int8 vector is the same whatever its request carries: through the embed API one text per call, 64
     * per call, and shuffled among 436 others in one call of 500; through {@code _bulk} and the pipeline one
     * document per bulk and among 500. Cosine at least 0.999999 (rounding of fp32 sums over other padded lengths);
     * with one activation scale per batch tensor (before int8 version 6) the same texts moved to 0.98.
     */
    @Test
    public void aTextGetsTheSameVectorWhateverItsRequest() throws Exception {
        List<String> texts = TestTexts.varied(64, 11);
        List<String> mixed = new ArrayList<>(TestTexts.varied(436, 12));
        mixed.addAll(texts);
        Collections.shuffle(mixed, new Random(13));

        float[][] together = embed("passage", texts);
        float[][] amongOthers = embed("passage", mixed);
        for (String index : List.of("alone", "among")) {
            ok(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
                {"mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", INT8)));
            ok(node.call("PUT", "/_ingest/pipeline/" + index, String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", INT8)));
        }
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < mixed.size(); i++) {
            ids.add("m" + i);
        }
        bulk("among", mixed, ids);
        double worst = 1;
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = embed("passage", List.of(texts.get(i)))[0];
            bulk("alone", List.of(texts.get(i)), List.of("t" + i));
            int at = mixed.indexOf(texts.get(i));
            worst = Math.min(worst, RecipeReference.cosine(alone, together[i]));
            worst = Math.min(worst, RecipeReference.cosine(alone, amongOthers[at]));
            worst = Math.min(worst, RecipeReference.cosine(alone, stored("alone", "t" + i)));
            worst = Math.min(worst, RecipeReference.cosine(alone, stored("among", "m" + at)));
        }
        assertTrue("lowest cosine between a text's vectors from different requests: " + worst, worst >= 0.999999);
    }

    @Test
    public void theInt8FormOfTheBundledModelWorksThroughEveryDoor() throws Exception {
        JsonObject listed = ok(node.call("GET", "/_plugins/_embeddings/models", null))
                .getAsJsonObject("models")
                .getAsJsonObject(INT8);
        assertTrue(String.valueOf(listed), listed.get("installed").getAsBoolean());
        assertEquals(384, listed.get("dims").getAsInt());
        assertEquals(
                "Represent this sentence for searching relevant passages: ",
                listed.getAsJsonObject("prompts").get("query").getAsString());

        JsonObject embedded =
                ok(node.call("POST", "/_plugins/_embeddings/embed", String.format(Locale.ROOT, """
            {"model": "%s", "role": "passage", "texts": ["Glaciers carve valleys."]}""", INT8)));
        assertEquals(INT8, embedded.get("model").getAsString());
        assertEquals(
                384,
                embedded.getAsJsonArray("embeddings").get(0).getAsJsonArray().size());

        ok(node.call("PUT", "/int8", String.format(Locale.ROOT, """
            {"mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", INT8)));
        ok(node.call("PUT", "/_ingest/pipeline/int8", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", INT8)));
        JsonObject bulk = ok(node.call("POST", "/int8/_bulk?pipeline=int8&refresh=true", """
            {"index": {"_id": "glacier"}}
            {"body": "Glaciers carve valleys as they slowly flow downhill."}
            {"index": {"_id": "eggs"}}
            {"body": "The recipe needs two eggs and a cup of flour."}
            """, "application/x-ndjson"));
        assertEquals(bulk.toString(), false, bulk.get("errors").getAsBoolean());
        JsonObject hits = ok(node.call("POST", "/int8/_search", """
            {"query": {"embed_knn": {"vec": {"query_text": "what shapes mountain valleys", "k": 2}}}}""")).getAsJsonObject("hits");
        assertEquals(
                "glacier",
                hits.getAsJsonArray("hits").get(0).getAsJsonObject().get("_id").getAsString());
        // the search encoded its text alone (on the lone-query session where the node has one); the embed API encodes
        // the same text in the document lane on the batch session: the same vector, so the same score, bit for bit
        float[] vector = embed("query", List.of("what shapes mountain valleys"))[0];
        JsonObject byVector = ok(node.call(
                        "POST",
                        "/int8/_search",
                        "{\"query\": {\"embed_knn\": {\"vec\": {\"query_vector\": " + Arrays.toString(vector)
                                + ", \"k\": 2}}}}"))
                .getAsJsonObject("hits");
        assertEquals(
                hits.getAsJsonArray("hits")
                        .get(0)
                        .getAsJsonObject()
                        .get("_score")
                        .getAsFloat(),
                byVector.getAsJsonArray("hits")
                        .get(0)
                        .getAsJsonObject()
                        .get("_score")
                        .getAsFloat(),
                0f);

        List<Path> files = int8Files();
        assertEquals(files.toString(), 1, files.size());
        JsonObject nodes =
                ok(node.call("GET", "/_plugins/_embeddings/stats", null)).getAsJsonObject("nodes");
        JsonObject model = nodes.entrySet()
                .iterator()
                .next()
                .getValue()
                .getAsJsonObject()
                .getAsJsonObject("models")
                .getAsJsonObject(INT8);
        // an int8 model with a lone-query session counts its weights twice: the batch session's and the lone one's
        boolean lone = model.get("lone_query_session").getAsBoolean();
        assertEquals(
                (lone ? 2 : 1) * Files.size(files.get(0)),
                model.get("model_bytes").getAsLong());
        assertEquals(
                "the query_text search ran on the lone-query session",
                lone ? 1 : 0,
                model.getAsJsonObject("query_stages").get("lone_runs").getAsLong());

        // a restart loads the int8 model from the file written before
        long written = Files.getLastModifiedTime(files.get(0)).toMillis();
        node.close();
        node.restart();
        ok(node.call("POST", "/_plugins/_embeddings/embed", String.format(Locale.ROOT, """
            {"model": "%s", "role": "none", "texts": ["again"]}""", INT8)));
        assertEquals(List.of(files.get(0)), int8Files());
        assertEquals(written, Files.getLastModifiedTime(files.get(0)).toMillis());

        RealNode.Response unknown = node.call("POST", "/_plugins/_embeddings/embed", """
            {"model": "nope-int8", "role": "none", "texts": ["x"]}""");
        assertEquals(unknown.text(), 400, unknown.status());
        assertTrue(unknown.text(), unknown.text().contains("unknown model [nope-int8]"));
    }
}

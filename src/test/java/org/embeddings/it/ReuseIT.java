package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.embeddings.testkit.RealNode;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Inference paid once, and each vector stored once, on a real node with the bundled bge-small-en-v1.5. Each test reads
 * the stats API's {@code ingest} counters before and after what it does, so each fails if reuse is switched off:
 * <ul>
 *   <li>skip and reuse: documents sent again unchanged encode nothing and keep bit-identical vectors; changed ones
 *       encode exactly their texts; a pipeline with {@code reuse: false} encodes everything;</li>
 *   <li>dedup: identical texts in one bulk are encoded once;</li>
 *   <li>reindex: {@code _reindex} into an index whose default pipeline embeds with the same model, and
 *       {@code _update_by_query} through the pipeline, encode nothing and keep the vectors; a partial {@code _update}
 *       keeps them too;</li>
 *   <li>restore on fetch: GET, multi-get and search {@code _source} return the vectors (and nested passages') of an
 *       index that stores them once, the same floats as an index that keeps them in its source, after a force-merge
 *       and after the node restarts (segments read back through Lucene's SPI); its store is smaller;</li>
 *   <li>passages: changing one paragraph of a ten-paragraph document encodes at most two windows;</li>
 *   <li>pre-chunked arrays: an unchanged array encodes nothing, reordered elements keep their windows' vectors at
 *       their new positions, and another chunking strategy re-encodes.</li>
 * </ul>
 */
public class ReuseIT {
    private static final String MODEL = "bge-small-en-v1.5";
    private static RealNode node;

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("reuse", RealNode.port(50));
        assertOk(node.call("PUT", "/_ingest/pipeline/p", pipeline("")));
        assertOk(node.call("PUT", "/_ingest/pipeline/p-off", pipeline(", \"reuse\": false")));
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static String pipeline(String options) {
        return "{\"processors\": [{\"embed\": {\"model\": \"" + MODEL + "\", \"field_map\": {\"body\": \"vec\"}"
                + options + "}}]}";
    }

    private static String mapping(String settings) {
        return "{" + settings + "\"mappings\": {\"properties\": {\"body\": {\"type\": \"text\"},"
                + " \"kind\": {\"type\": \"keyword\"}, \"vec\": {\"type\": \"embedding\", \"model\": \"" + MODEL
                + "\"}}}}";
    }

    @Test
    public void resentDocumentsReuseTheirVectorsAndDuplicatesAreEncodedOnce() throws Exception {
        assertOk(node.call("PUT", "/r-docs", mapping("")));
        Map<String, String> bodies = bodies("original");
        bodies.put("11", bodies.get("10")); // the same text twice in one bulk
        Counts before = counts();
        bulk("r-docs", "p", bodies);
        Counts first = counts().minus(before);
        assertEquals("11 distinct texts: " + first, 11, first.encoded);
        assertEquals("the repeated text: " + first, 1, first.deduplicated);
        Map<String, float[]> vectors = vectors("r-docs", bodies.keySet());
        assertEquals("a duplicate gets the same vector", floats(vectors.get("10")), floats(vectors.get("11")));

        before = counts();
        bulk("r-docs", "p", bodies);
        Counts again = counts().minus(before);
        assertEquals("nothing encoded again: " + again, 0, again.encoded);
        assertEquals(12, again.reused);
        assertEquals("one multi-get of the bulk's 12 documents", 12, again.lookups);
        assertSameVectors(vectors, vectors("r-docs", bodies.keySet()));

        for (String id : List.of("2", "5", "7")) {
            bodies.put(id, bodies.get(id) + " Changed.");
        }
        before = counts();
        bulk("r-docs", "p", bodies);
        Counts changed = counts().minus(before);
        assertEquals("exactly the 3 changed texts: " + changed, 3, changed.encoded);
        assertEquals(9, changed.reused);
        Map<String, float[]> after = vectors("r-docs", bodies.keySet());
        for (String id : bodies.keySet()) {
            if (List.of("2", "5", "7").contains(id)) {
                assertNotEquals(floats(vectors.get(id)), floats(after.get(id)));
            } else {
                assertEquals(floats(vectors.get(id)), floats(after.get(id)));
            }
        }

        before = counts();
        bulk("r-docs", "p-off", bodies);
        assertEquals("reuse: false encodes every text", 12, counts().minus(before).encoded);
    }

    @Test
    public void reindexAndUpdateByQueryEncodeNothing() throws Exception {
        assertOk(node.call("PUT", "/x-docs", mapping("")));
        Map<String, String> bodies = bodies("reindexed");
        bulk("x-docs", "p", bodies);
        Map<String, float[]> vectors = vectors("x-docs", bodies.keySet());

        assertOk(node.call("PUT", "/x-copy", mapping("\"settings\": {\"index\": {\"default_pipeline\": \"p\"}},")));
        Counts before = counts();
        RealNode.Response reindex = node.call(
                "POST",
                "/_reindex?refresh=true",
                "{\"source\": {\"index\": \"x-docs\"}, \"dest\": {\"index\": \"x-copy\"}}");
        assertOk(reindex);
        assertEquals(
                reindex.text(),
                0,
                reindex.body().getAsJsonObject().getAsJsonArray("failures").size());
        Counts copied = counts().minus(before);
        assertEquals("_reindex encodes nothing: " + copied, 0, copied.encoded);
        assertEquals(bodies.size(), copied.skipped);
        assertSameVectors(vectors, vectors("x-copy", bodies.keySet()));
        String query =
                "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"how glaciers shape valleys\", \"k\": 5}}}}";
        assertEquals(ids("x-docs", query), ids("x-copy", query));

        before = counts();
        RealNode.Response ubq = node.call("POST", "/x-docs/_update_by_query?pipeline=p&refresh=true", "{}");
        assertOk(ubq);
        assertEquals(
                ubq.text(),
                bodies.size(),
                ubq.body().getAsJsonObject().get("updated").getAsInt());
        Counts updated = counts().minus(before);
        assertEquals("_update_by_query encodes nothing: " + updated, 0, updated.encoded);
        assertEquals(bodies.size(), updated.skipped);
        assertSameVectors(vectors, vectors("x-docs", bodies.keySet()));

        assertOk(node.call("POST", "/x-docs/_update/3?refresh=true", "{\"doc\": {\"kind\": \"edited\"}}"));
        JsonObject edited = source("x-docs", "3");
        assertEquals("edited", edited.get("kind").getAsString());
        assertEquals(floats(vectors.get("3")), floats(vector(edited.get("vec"))));
    }

    @Test
    public void vectorsAreRestoredOnEveryReadAndStoredOnce() throws Exception {
        assertOk(node.call("PUT", "/s-derived", passageMapping("")));
        assertOk(node.call(
                "PUT",
                "/s-whole",
                passageMapping("\"settings\": {\"index\": {\"embeddings.derived_source\": false}},")));
        assertOk(node.call("PUT", "/_ingest/pipeline/both", """
            {"processors": [
              {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}},
              {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
                         "chunking": {"max_tokens": 16}}}]}"""));
        Map<String, String> bodies = bodies("stored");
        bulk("s-derived", "both", bodies);
        RealNode.Response copy = node.call(
                "POST",
                "/_reindex?refresh=true",
                "{\"source\": {\"index\": \"s-derived\"}, \"dest\": {\"index\": \"s-whole\"}}");
        assertOk(copy);
        assertEquals(
                copy.text(),
                bodies.size(),
                copy.body().getAsJsonObject().get("created").getAsInt());
        for (String index : List.of("s-derived", "s-whole")) {
            assertOk(node.call("POST", "/" + index + "/_forcemerge?max_num_segments=1", null));
            assertOk(node.call("POST", "/" + index + "/_refresh", null));
        }
        checkSameSources(bodies);
        long derived = node.storeBytes("s-derived");
        long whole = node.storeBytes("s-whole");
        assertTrue(
                "vectors stored once: " + derived + " bytes against " + whole + " with vectors in the source",
                derived < 0.8 * whole);

        node.close(); // stops it; the segments are then opened again through Lucene's SPI, by their codec's name
        node.restart();
        assertOk(node.call("GET", "/_cluster/health/s-*?wait_for_status=yellow&timeout=60s", null));
        checkSameSources(bodies);
    }

    /** Both indices answer GET, multi-get and search with the same sources, vectors and passages included. */
    private void checkSameSources(Map<String, String> bodies) throws Exception {
        for (String id : bodies.keySet()) {
            JsonObject derived = source("s-derived", id);
            JsonObject whole = source("s-whole", id);
            assertEquals(384, derived.getAsJsonArray("vec").size());
            JsonArray passages = derived.getAsJsonArray("passages");
            assertTrue("several passages: " + passages.size(), passages.size() >= 2);
            for (JsonElement p : passages) {
                assertEquals(384, p.getAsJsonObject().getAsJsonArray("vec").size());
            }
            assertEquals(asFloats(whole), asFloats(derived));
        }
        JsonArray docs = node.call("POST", "/s-derived/_mget", "{\"ids\": [\"1\", \"4\"]}")
                .body()
                .getAsJsonObject()
                .getAsJsonArray("docs");
        for (JsonElement doc : docs) {
            String id = doc.getAsJsonObject().get("_id").getAsString();
            assertEquals(
                    asFloats(source("s-whole", id)),
                    asFloats(doc.getAsJsonObject().getAsJsonObject("_source")));
        }
        JsonArray hits = node.call("POST", "/s-derived/_search", "{\"size\": 20}")
                .body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits");
        assertEquals(bodies.size(), hits.size());
        for (JsonElement hit : hits) {
            String id = hit.getAsJsonObject().get("_id").getAsString();
            assertEquals(
                    asFloats(source("s-whole", id)),
                    asFloats(hit.getAsJsonObject().getAsJsonObject("_source")));
        }
    }

    @Test
    public void aChangedParagraphReencodesAtMostTwoWindows() throws Exception {
        assertOk(node.call("PUT", "/l-docs", passageMapping("")));
        assertOk(node.call("PUT", "/_ingest/pipeline/chunks", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
                                       "chunking": {}}}]}"""));
        List<String> paragraphs = new ArrayList<>();
        for (int p = 0; p < 10; p++) {
            paragraphs.add(paragraph(p, "original"));
        }
        Counts before = counts();
        bulk("l-docs", "chunks", Map.of("1", String.join("\n\n", paragraphs)));
        assertEquals("ten passages", 10, counts().minus(before).encoded);
        JsonArray first = source("l-docs", "1").getAsJsonArray("passages");

        paragraphs.set(6, paragraph(6, "rewritten"));
        before = counts();
        bulk("l-docs", "chunks", Map.of("1", String.join("\n\n", paragraphs)));
        Counts changed = counts().minus(before);
        assertTrue("at most two windows encoded: " + changed, changed.encoded <= 2 && changed.encoded >= 1);
        assertEquals(10, changed.encoded + changed.reused);
        JsonArray second = source("l-docs", "1").getAsJsonArray("passages");
        assertEquals(first.size(), second.size());
        int same = 0;
        for (int i = 0; i < first.size(); i++) {
            if (floats(vector(first.get(i).getAsJsonObject().get("vec")))
                    .equals(floats(vector(second.get(i).getAsJsonObject().get("vec"))))) {
                same++;
            }
        }
        assertEquals("the unchanged paragraphs keep their vectors", 10 - changed.encoded, same);
    }

    /**
     * Pre-chunked input: an array of strings sent again unchanged encodes nothing; the same elements in another order
     * encode nothing either (every window's tokens are known) but each passage gets its element's new position; the
     * same array through a pipeline with another chunking strategy is cut again and encodes the windows that strategy
     * cuts differently. Fails if the document digest ignored the strategy (then nothing is encoded at the end) or the
     * elements' positions (then stale positions are reused).
     */
    @Test
    public void aPreChunkedArrayIsReusedUntilItsChunkingStrategyChanges() throws Exception {
        assertOk(node.call("PUT", "/e-docs", passageMapping("")));
        assertOk(node.call("PUT", "/_ingest/pipeline/e-tokens", elementsPipeline("tokens")));
        assertOk(node.call("PUT", "/_ingest/pipeline/e-sentences", elementsPipeline("sentences")));
        List<String> elements = List.of(
                "Glaciers carve deep valleys into the northern mountains.",
                paragraph(3, "pre-chunked"),
                "Owls hunt mice at night by sound alone.");

        Counts before = counts();
        bulkElements("e-docs", "e-tokens", elements);
        Counts first = counts().minus(before);
        JsonArray passages = source("e-docs", "1").getAsJsonArray("passages");
        assertTrue("the long element is windowed: " + passages, passages.size() >= 4);
        assertEquals("every passage encoded once: " + first, passages.size(), first.encoded);
        Map<String, List<Integer>> vectorOfText = vectorsBySpanText(elements, passages);

        before = counts();
        bulkElements("e-docs", "e-tokens", elements);
        Counts again = counts().minus(before);
        assertEquals("an unchanged array encodes nothing: " + again, 0, again.encoded);
        assertEquals(passages.size(), again.reused);
        assertEquals(
                "the same passages, spans, elements and floats",
                asFloats(passages),
                asFloats(source("e-docs", "1").getAsJsonArray("passages")));

        List<String> swapped = List.of(elements.get(2), elements.get(1), elements.get(0));
        before = counts();
        bulkElements("e-docs", "e-tokens", swapped);
        Counts moved = counts().minus(before);
        assertEquals("the same windows in another order: " + moved, 0, moved.encoded);
        JsonArray movedPassages = source("e-docs", "1").getAsJsonArray("passages");
        assertEquals(
                "each passage at its element's new position, with its vector",
                vectorOfText,
                vectorsBySpanText(swapped, movedPassages));

        before = counts();
        bulkElements("e-docs", "e-sentences", swapped);
        Counts resplit = counts().minus(before);
        JsonArray sentencePassages = source("e-docs", "1").getAsJsonArray("passages");
        assertTrue("another strategy re-encodes: " + resplit, resplit.encoded > 0);
        assertNotEquals("the strategies cut the long element apart", spans(movedPassages), spans(sentencePassages));
        assertEquals(sentencePassages.size(), resplit.encoded + resplit.reused + resplit.deduplicated);
        vectorsBySpanText(swapped, sentencePassages);
    }

    private static String elementsPipeline(String strategy) {
        return "{\"processors\": [{\"embed\": {\"model\": \"" + MODEL
                + "\", \"field_map\": {\"body\": \"passages.vec\"}," + " \"chunking\": {\"strategy\": \"" + strategy
                + "\", \"max_tokens\": 64}}}]}";
    }

    /** Indexes document 1 of {@code index} with {@code elements} as its pre-chunked body. */
    private static void bulkElements(String index, String pipeline, List<String> elements) throws Exception {
        JsonObject source = new JsonObject();
        JsonArray body = new JsonArray();
        elements.forEach(body::add);
        source.add("body", body);
        RealNode.Response r = node.call(
                "POST",
                "/" + index + "/_bulk?refresh=true&pipeline=" + pipeline,
                "{\"index\":{\"_id\":\"1\"}}\n" + source + "\n",
                "application/x-ndjson");
        assertOk(r);
        assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
    }

    /**
     * Each passage's vector by the text it spans, {@code elements[element].substring(start, end)}; checks that every
     * element has passages and that each span lies within its element.
     */
    private static Map<String, List<Integer>> vectorsBySpanText(List<String> elements, JsonArray passages) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        Set<Integer> seen = new HashSet<>();
        for (JsonElement p : passages) {
            JsonObject passage = p.getAsJsonObject();
            int element = passage.get("element").getAsInt();
            int start = passage.get("start").getAsInt();
            int end = passage.get("end").getAsInt();
            assertTrue(passage.toString(), element >= 0 && element < elements.size());
            assertTrue(
                    passage.toString(),
                    0 <= start && start < end && end <= elements.get(element).length());
            seen.add(element);
            out.put(elements.get(element).substring(start, end), floats(vector(passage.get("vec"))));
        }
        assertEquals("every element has passages", elements.size(), seen.size());
        return out;
    }

    private static List<String> spans(JsonArray passages) {
        List<String> out = new ArrayList<>();
        for (JsonElement p : passages) {
            JsonObject passage = p.getAsJsonObject();
            out.add(passage.get("element") + ":" + passage.get("start") + "-" + passage.get("end"));
        }
        return out;
    }

    // ---- helpers

    private static String passageMapping(String settings) {
        return "{" + settings + "\"mappings\": {\"properties\": {\"body\": {\"type\": \"text\"},"
                + " \"vec\": {\"type\": \"embedding\", \"model\": \"" + MODEL + "\"},"
                + " \"passages\": {\"type\": \"nested\", \"properties\": {\"vec\": {\"type\": \"embedding\", \"model\": \""
                + MODEL + "\"}}}}}}";
    }

    /** Twelve short documents; {@code version} makes their texts differ from another test's. */
    private static Map<String, String> bodies(String version) {
        String[] topics = {
            "glaciers carve deep valleys into mountains",
            "bees pollinate apple blossom in spring",
            "central banks raise rates to slow inflation",
            "telescopes observe faint distant galaxies",
            "sourdough bread rises slowly overnight",
            "rivers deposit silt where they meet the sea",
            "compost feeds earthworms in clay soil",
            "trains crossed the continent in four days",
            "vaccines train the immune system",
            "lighthouses warned ships of rocky coasts",
            "volcanoes release gas before they erupt",
            "owls hunt mice at night by sound"
        };
        Map<String, String> bodies = new LinkedHashMap<>();
        for (int i = 0; i < topics.length; i++) {
            bodies.put(
                    Integer.toString(i),
                    String.format(Locale.ROOT, "The %s note %d: %s. %s.", version, i, topics[i], topics[(i + 5) % 12]));
        }
        return bodies;
    }

    /** About 150 tokens, its words depending on its number and version. */
    private static String paragraph(int p, String version) {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < 8; s++) {
            b.append(String.format(
                    Locale.ROOT,
                    "Sentence %d of the %s paragraph %d tells how rivers, glaciers and winds shape valley %d. ",
                    s,
                    version,
                    p,
                    p * 10 + s));
        }
        return b.toString().strip();
    }

    private static void bulk(String index, String pipeline, Map<String, String> bodies) throws Exception {
        StringBuilder bulk = new StringBuilder();
        for (Map.Entry<String, String> e : bodies.entrySet()) {
            JsonObject source = new JsonObject();
            source.addProperty("body", e.getValue());
            bulk.append("{\"index\":{\"_id\":\"")
                    .append(e.getKey())
                    .append("\"}}\n")
                    .append(source)
                    .append('\n');
        }
        RealNode.Response r = node.call(
                "POST",
                "/" + index + "/_bulk?refresh=true&pipeline=" + pipeline,
                bulk.toString(),
                "application/x-ndjson");
        assertOk(r);
        assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
    }

    private static JsonObject source(String index, String id) throws Exception {
        RealNode.Response r = node.call("GET", "/" + index + "/_doc/" + id, null);
        assertOk(r);
        return r.body().getAsJsonObject().getAsJsonObject("_source");
    }

    private static Map<String, float[]> vectors(String index, Iterable<String> ids) throws Exception {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String id : ids) {
            out.put(id, vector(source(index, id).get("vec")));
        }
        return out;
    }

    private static float[] vector(JsonElement value) {
        JsonArray array = value.getAsJsonArray();
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).getAsFloat();
        }
        return v;
    }

    /** A vector's floats bit for bit, as a comparable list. */
    private static List<Integer> floats(float[] v) {
        List<Integer> bits = new ArrayList<>(v.length);
        for (float f : v) {
            bits.add(Float.floatToIntBits(f));
        }
        return bits;
    }

    private static void assertSameVectors(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((id, v) -> assertEquals("document " + id, floats(v), floats(actual.get(id))));
    }

    /** A source with every number read as a float's bits, so that the same floats compare equal. */
    private static Object asFloats(JsonElement value) {
        if (value.isJsonObject()) {
            Map<String, Object> out = new LinkedHashMap<>();
            value.getAsJsonObject().entrySet().forEach(e -> out.put(e.getKey(), asFloats(e.getValue())));
            return out;
        }
        if (value.isJsonArray()) {
            List<Object> out = new ArrayList<>();
            value.getAsJsonArray().forEach(e -> out.add(asFloats(e)));
            return out;
        }
        if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()) {
            return Float.floatToIntBits(value.getAsFloat());
        }
        return value.toString();
    }

    private static List<String> ids(String index, String query) throws Exception {
        List<String> ids = new ArrayList<>();
        node.call("POST", "/" + index + "/_search", query)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        return ids;
    }

    /** The node's {@code ingest} counters of the model. */
    private record Counts(long encoded, long reused, long deduplicated, long skipped, long lookups) {
        Counts minus(Counts o) {
            return new Counts(
                    encoded - o.encoded,
                    reused - o.reused,
                    deduplicated - o.deduplicated,
                    skipped - o.skipped,
                    lookups - o.lookups);
        }
    }

    private static Counts counts() throws Exception {
        JsonObject nodes = node.call("GET", "/_plugins/_embeddings/stats", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("nodes");
        JsonObject ingest =
                nodes.entrySet().iterator().next().getValue().getAsJsonObject().getAsJsonObject("ingest");
        if (ingest == null || ingest.has(MODEL) == false) {
            return new Counts(0, 0, 0, 0, 0);
        }
        JsonObject m = ingest.getAsJsonObject(MODEL);
        return new Counts(
                m.get("encoded").getAsLong(),
                m.get("reused").getAsLong(),
                m.get("deduplicated").getAsLong(),
                m.get("skipped").getAsLong(),
                m.get("lookups").getAsLong());
    }

    private static void assertOk(RealNode.Response r) {
        assertTrue(r.text(), r.status() / 100 == 2);
    }
}

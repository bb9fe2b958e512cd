package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.embeddings.testkit.LongDocs;
import org.embeddings.testkit.RealNode;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The {@code embedding} highlighter on a real node, on the long-document set built from SciFact
 * ({@link LongDocs#concatenated}, from {@code ../shared/data}): for the SciFact query "0-dimensional biomaterials show
 * inductive properties", the fragments of each hit are substrings of its text, best first, and the first is the
 * stored passage whose vector has the highest dot product with the query vector (both read back over REST, the
 * query vector from the embed API), with {@code inner_hits} off, in a {@code nested} query and in {@code fusion} of
 * both scopes. Without passages, {@code encode_sentences} ranks the hit's sentences by the embed API's vectors of
 * them; without it, and without a query vector, there are no fragments; a bad option is a 400.
 */
public class HighlightIT {
    private static final String QUERY = "0-dimensional biomaterials show inductive properties";
    /** The query's id in SciFact's test queries. */
    private static final String QUERY_ID = "1";

    private static final String MODEL = "bge-small-en-v1.5";

    private static RealNode node;
    /** Long document id to body: the one holding the query's relevant abstract first. */
    private static final Map<String, String> LONG = new LinkedHashMap<>();
    /** SciFact abstract id to {@code title + " " + text}: the relevant one first. */
    private static final Map<String, String> SHORT = new LinkedHashMap<>();

    @BeforeClass
    public static void startNode() throws Exception {
        Path data =
                Path.of(System.getProperty("embeddings.data", "../shared/data")).resolve("scifact");
        assumeTrue("no SciFact data at [" + data + "]", Files.isRegularFile(data.resolve("corpus.jsonl")));
        LongDocs longDocs = LongDocs.concatenated(data);
        String holder = longDocs.qrels().get(QUERY_ID).keySet().iterator().next();
        LONG.put(holder, longDocs.documents().get(holder));
        longDocs.documents().keySet().stream()
                .filter(id -> id.equals(holder) == false)
                .limit(5)
                .forEach(id -> LONG.put(id, longDocs.documents().get(id)));
        LongDocs beir = LongDocs.beir(data);
        String relevant = beir.qrels().get(QUERY_ID).keySet().iterator().next();
        SHORT.put(relevant, beir.documents().get(relevant));
        beir.documents().keySet().stream()
                .filter(id -> id.equals(relevant) == false)
                .limit(5)
                .forEach(id -> SHORT.put(id, beir.documents().get(id)));

        node = RealNode.start("highlight", RealNode.port(72));
        assertOk(node.call("PUT", "/long", String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"},
               "passages": {"type": "nested", "properties": {
                 "vec": {"type": "embedding", "model": "%s"}, "start": {"type": "integer"}, "end": {"type": "integer"}}}}}}""", MODEL)));
        assertOk(node.call("PUT", "/_ingest/pipeline/long", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "passages.vec"}, "chunking": {}}}]}""", MODEL)));
        assertOk(node.call("PUT", "/short", String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", MODEL)));
        assertOk(node.call("PUT", "/_ingest/pipeline/short", String.format(Locale.ROOT, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", MODEL)));
        index("long", LONG);
        index("short", SHORT);
    }

    private static void index(String index, Map<String, String> docs) throws Exception {
        StringBuilder bulk = new StringBuilder();
        for (Map.Entry<String, String> doc : docs.entrySet()) {
            JsonObject source = new JsonObject();
            source.addProperty("body", doc.getValue());
            bulk.append("{\"index\":{\"_id\":\"").append(doc.getKey()).append("\"}}\n");
            bulk.append(source).append('\n');
        }
        RealNode.Response r = node.call(
                "POST",
                "/" + index + "/_bulk?pipeline=" + index + "&refresh=true",
                bulk.toString(),
                "application/x-ndjson");
        assertOk(r);
        assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static void assertOk(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    private static String nested(String text) {
        return String.format(Locale.ROOT, """
            {"nested": {"path": "passages", "score_mode": "max",
              "query": {"embed_knn": {"passages.vec": {"query_text": %s, "k": 10, "exact": true}}}}}""", quote(text));
    }

    private static String quote(String text) {
        return new JsonPrimitive(text).toString();
    }

    private static JsonArray search(String index, String query, String highlight) throws Exception {
        RealNode.Response r =
                node.call("POST", "/" + index + "/_search", String.format(Locale.ROOT, """
            {"size": 10, "_source": ["body"], "query": %s, "highlight": {"fields": {"body": %s}}}""", query, highlight));
        assertOk(r);
        return r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
    }

    private static JsonObject hit(JsonArray hits, String id) {
        for (JsonElement h : hits) {
            if (h.getAsJsonObject().get("_id").getAsString().equals(id)) {
                return h.getAsJsonObject();
            }
        }
        throw new AssertionError("no hit [" + id + "] in " + hits);
    }

    private static List<String> fragments(JsonObject hit) {
        List<String> out = new ArrayList<>();
        if (hit.has("highlight")) {
            hit.getAsJsonObject("highlight").getAsJsonArray("body").forEach(f -> out.add(f.getAsString()));
        }
        return out;
    }

    private static List<Double> scores(JsonObject hit) {
        List<Double> out = new ArrayList<>();
        hit.getAsJsonObject("fields").getAsJsonArray("highlight_scores.body").forEach(s -> out.add(s.getAsDouble()));
        return out;
    }

    private static float[] embed(String role, List<String> texts, int i) throws Exception {
        return embed(role, texts).get(i);
    }

    private static List<float[]> embed(String role, List<String> texts) throws Exception {
        JsonObject request = new JsonObject();
        request.addProperty("model", MODEL);
        request.addProperty("role", role);
        JsonArray array = new JsonArray();
        texts.forEach(array::add);
        request.add("texts", array);
        RealNode.Response r = node.call("POST", "/_plugins/_embeddings/embed", request.toString());
        assertOk(r);
        List<float[]> out = new ArrayList<>();
        for (JsonElement e : r.body().getAsJsonObject().getAsJsonArray("embeddings")) {
            out.add(vector(e.getAsJsonArray()));
        }
        return out;
    }

    private static float[] vector(JsonArray array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).getAsFloat();
        }
        return v;
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /** The text of the stored passage of {@code id} with the highest dot product to {@code query}. */
    private static String bestPassage(String id, float[] query) throws Exception {
        JsonObject source = node.call("GET", "/long/_doc/" + id, null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_source");
        String body = source.get("body").getAsString();
        JsonArray passages = source.getAsJsonArray("passages");
        assertTrue(passages.size() > 2);
        String best = null;
        double bestDot = Double.NEGATIVE_INFINITY;
        for (JsonElement p : passages) {
            JsonObject o = p.getAsJsonObject();
            double d = dot(query, vector(o.getAsJsonArray("vec")));
            if (d > bestDot) {
                bestDot = d;
                best = body.substring(o.get("start").getAsInt(), o.get("end").getAsInt());
            }
        }
        return best;
    }

    /** Fragments of every hit: substrings of its body, best first, as many as asked; the first the best passage. */
    private static void checkPassageFragments(JsonArray hits, int asked) throws Exception {
        float[] query = embed("query", List.of(QUERY), 0);
        assertTrue(hits.size() >= 3);
        for (JsonElement h : hits) {
            JsonObject hit = h.getAsJsonObject();
            String id = hit.get("_id").getAsString();
            String body = LONG.get(id);
            List<String> fragments = fragments(hit);
            List<Double> scores = scores(hit);
            assertEquals(id, asked, fragments.size());
            assertEquals(fragments.size(), scores.size());
            for (int i = 0; i < fragments.size(); i++) {
                assertTrue(
                        id + ": a substring of the text [" + fragments.get(i) + "]", body.contains(fragments.get(i)));
                if (i > 0) {
                    assertTrue(id + ": best first " + scores, scores.get(i - 1) >= scores.get(i));
                }
            }
            assertEquals(id + ": the top fragment is the best passage", bestPassage(id, query), fragments.get(0));
        }
    }

    @Test
    public void passagesAreFragmentsBestFirstAndTheFirstIsTheBestStoredPassage() throws Exception {
        JsonArray hits = search("long", nested(QUERY), """
            {"type": "embedding", "number_of_fragments": 2}""");
        assertEquals(
                "the relevant abstract's document ranks first",
                LONG.keySet().iterator().next(),
                hits.get(0).getAsJsonObject().get("_id").getAsString());
        checkPassageFragments(hits, 2);
        JsonObject top = hits.get(0).getAsJsonObject();
        assertFalse("inner_hits are off", top.has("inner_hits"));
        assertEquals(
                "the best fragment's score is the hit's: the best passage's score",
                top.get("_score").getAsDouble(),
                scores(top).get(0),
                1e-5);
        String relevant = SHORT.values().iterator().next();
        String firstSentence = relevant.substring(0, relevant.indexOf(". ") + 1);
        assertTrue(
                "the best passage holds the relevant abstract: ["
                        + fragments(top).get(0) + "]",
                fragments(top).get(0).contains(firstSentence));
    }

    @Test
    public void insideFusionOfBothScopesTheFragmentsAreTheSame() throws Exception {
        JsonArray plain = search("long", nested(QUERY), "{\"type\": \"embedding\", \"number_of_fragments\": 3}");
        for (String scope : List.of("global", "shard")) {
            JsonArray fused = search("long", String.format(Locale.ROOT, """
                {"fusion": {"method": "linear", "scope": "%s", "queries": [{"match": {"body": %s}}, %s]}}""", scope, quote(QUERY), nested(QUERY)), """
                {"type": "embedding", "number_of_fragments": 3}""");
            checkPassageFragments(fused, 3);
            for (JsonElement h : fused) {
                String id = h.getAsJsonObject().get("_id").getAsString();
                assertEquals(scope + " " + id, fragments(hit(plain, id)), fragments(h.getAsJsonObject()));
            }
        }
    }

    @Test
    public void withoutPassagesSentencesAreEncodedAtFetchOnlyWhenAsked() throws Exception {
        String knn = String.format(Locale.ROOT, """
            {"embed_knn": {"vec": {"query_text": %s, "k": 3}}}""", quote(QUERY));
        JsonArray hits = search("short", knn, """
            {"type": "embedding", "number_of_fragments": 0, "options": {"encode_sentences": true}}""");
        float[] query = embed("query", List.of(QUERY), 0);
        for (JsonElement h : hits) {
            JsonObject hit = h.getAsJsonObject();
            String body = SHORT.get(hit.get("_id").getAsString());
            List<String> fragments = fragments(hit);
            // every sentence, as the JDK's BreakIterator cuts the text
            BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
            sentences.setText(body);
            int count = 0;
            for (int b = sentences.next(); b != BreakIterator.DONE; b = sentences.next()) {
                count++;
            }
            assertEquals(count, fragments.size());
            List<float[]> vectors = embed("passage", fragments);
            List<Double> scores = scores(hit);
            for (int i = 0; i < fragments.size(); i++) {
                assertTrue(body.contains(fragments.get(i)));
                if (i > 0) {
                    assertTrue("best first", scores.get(i - 1) >= scores.get(i));
                    assertTrue(
                            "ranked as the embed API's vectors rank them",
                            dot(query, vectors.get(i - 1)) >= dot(query, vectors.get(i)) - 1e-5);
                }
            }
        }
        assertEquals(
                "the relevant abstract ranks first",
                SHORT.keySet().iterator().next(),
                hits.get(0).getAsJsonObject().get("_id").getAsString());

        // not asked: a hit without passages has no fragments; a query without a vector gives none either
        JsonArray plain = search("short", knn, "{\"type\": \"embedding\"}");
        assertFalse(plain.get(0).getAsJsonObject().has("highlight"));
        JsonArray bm25 = search("long", "{\"match\": {\"body\": " + quote(QUERY) + "}}", "{\"type\": \"embedding\"}");
        assertFalse(bm25.isEmpty());
        assertNull(bm25.get(0).getAsJsonObject().get("highlight"));
    }

    @Test
    public void aBadOptionIsA400NamingIt() throws Exception {
        RealNode.Response r = node.call("POST", "/long/_search", String.format(Locale.ROOT, """
            {"query": %s, "highlight": {"fields": {"body": {"type": "embedding", "options": {"sentences": 3}}}}}""", nested(QUERY)));
        assertEquals(r.text(), 400, r.status());
        assertTrue(r.text(), r.text().contains("unknown option [sentences]"));
        assertNotNull(r.body());

        Map<String, String> bad = Map.of(
                "{\"passages\": \"nope\"}", "[passages] [nope] is not a [nested] field of index [long]",
                "{\"passages\": \"body\"}", "[passages] [body] is not a [nested] field of index [long]",
                "{\"encode_sentences\": true, \"model\": \"../x\"}", "[model] invalid model name [../x]");
        for (Map.Entry<String, String> option : bad.entrySet()) {
            RealNode.Response refused =
                    node.call("POST", "/long/_search", String.format(Locale.ROOT, """
                {"query": %s, "highlight": {"fields": {"body": {"type": "embedding", "options": %s}}}}""", nested(QUERY), option.getKey()));
            assertEquals(option.getKey() + ": " + refused.text(), 400, refused.status());
            assertTrue(option.getKey() + ": " + refused.text(), refused.text().contains(option.getValue()));
        }
    }
}

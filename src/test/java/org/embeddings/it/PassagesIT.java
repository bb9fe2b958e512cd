package org.embeddings.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
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
 * Long documents as passages on a real node: the {@code embed} processor with {@code chunking} writes one nested
 * object per passage (vector, start, end), and {@code embed_knn} inside a {@code nested} query finds documents by
 * their best passage. Checked: a sentence past the model's 512-token limit is found first with passages and missed
 * by the whole-document vector; k means k distinct documents; a filter on document fields applies; inner_hits
 * spans point at the matched text; re-indexing and deleting leave no stale passages; it composes in {@code fusion}
 * (both scopes) and {@code bool}; a {@code title_field} heads every passage vector; pre-chunked input (an array of
 * strings) gives one passage per element, a long element windowed, with the element's position stored and a query
 * finding the element; the {@code sentences} and {@code delimiter} strategies cut on their units; bad chunking
 * options, arrays and targets are 400s that name them.
 */
public class PassagesIT {
    private static final String NEEDLE = "lighthouse keeper";

    private static RealNode node;
    /** Document id to body. */
    private static final Map<String, String> DOCS = new LinkedHashMap<>();

    private static final Map<String, String[]> TOPICS = new LinkedHashMap<>();

    static {
        TOPICS.put("finance", new String[] {
            "Bond yields rose for the third week as traders priced in further rate increases.",
            "The central bank kept its policy rate unchanged but signalled concern about inflation.",
            "Corporate earnings in the banking sector beat analyst expectations this quarter.",
            "Currency markets were volatile after the trade figures surprised economists.",
            "Pension funds shifted part of their portfolios from equities into government debt.",
            "Mortgage lenders tightened their criteria as house prices began to fall.",
            "The stock exchange introduced new rules for companies listing their shares.",
            "Investors sold technology shares and bought utilities perceived as safer.",
            "A weaker dollar lifted the profits of exporters with sales abroad.",
            "Credit rating agencies warned that public debt was growing faster than the economy.",
            "The quarterly budget report showed tax revenue below the government's forecast.",
            "Hedge funds reported losses on their bets against commodity prices."
        });
        TOPICS.put("gardening", new String[] {
            "Tomatoes need full sun and regular watering to produce a good crop.",
            "Compost improves the structure of clay soil and feeds earthworms.",
            "Prune roses in late winter, cutting just above an outward facing bud.",
            "Slugs can be kept away from lettuce with copper tape or beer traps.",
            "Sow carrot seeds thinly in rows and cover them with fine soil.",
            "Mulching flower beds keeps moisture in the ground during dry summers.",
            "Perennial herbs such as thyme and rosemary prefer well drained soil.",
            "Divide overgrown clumps of irises every few years to keep them flowering.",
            "A greenhouse lets gardeners start peppers and aubergines early in spring.",
            "Apple trees are pollinated by bees visiting blossom from nearby varieties.",
            "Raised beds warm up quickly and make weeding easier on the back.",
            "Leaf mould made from autumn leaves is an excellent soil conditioner."
        });
        TOPICS.put("astronomy", new String[] {
            "Large telescopes collect faint light from galaxies billions of years old.",
            "The space telescope observed distant galaxies through its infrared camera.",
            "Astronomers measure the expansion of the universe from the redshift of galaxies.",
            "Spiral galaxies like the Milky Way contain hundreds of billions of stars.",
            "Radio telescopes detect cold hydrogen gas between the stars of a galaxy.",
            "Galaxy clusters bend the light of more distant galaxies through gravitational lensing.",
            "Observing deep fields, telescopes revealed thousands of faint early galaxies.",
            "The telescope's mirror must be cooled to observe the faint infrared glow of galaxies.",
            "Quasars are the bright cores of distant galaxies powered by black holes.",
            "Colliding galaxies trigger bursts of star formation seen by telescopes.",
            "Dark matter holds galaxies together, as their rotation curves show.",
            "New survey telescopes will map the positions of a billion galaxies."
        });
        TOPICS.put("cooking", new String[] {
            "Brown the onions slowly in butter until they turn sweet and golden.",
            "A good risotto needs warm stock added one ladle at a time.",
            "Rest the roast for fifteen minutes before carving so the juices settle.",
            "Knead bread dough until it is smooth and springs back when pressed.",
            "Toast whole spices in a dry pan to release their aroma before grinding.",
            "Season the soup at the end, when the flavours have come together.",
            "Fresh pasta cooks in two minutes in plenty of salted boiling water.",
            "Whisk egg whites in a clean bowl until they hold stiff peaks.",
            "Deglaze the pan with wine to lift the browned bits into the sauce.",
            "Marinate the chicken overnight in yoghurt, garlic and lemon.",
            "Bake the tart blind so that its pastry stays crisp under the filling.",
            "Chop herbs at the last moment so they keep their colour and scent."
        });
        TOPICS.put("railways", new String[] {
            "The new high speed line cut the journey between the two cities to ninety minutes.",
            "Signal upgrades allow more trains per hour on the busy commuter route.",
            "Steam locomotives were replaced by diesel engines in the nineteen sixties.",
            "Night trains are returning as travellers look for alternatives to flying.",
            "Freight wagons carry containers from the port to inland terminals.",
            "The railway company ordered electric trains for its regional services.",
            "Engineers replaced the old bridge while trains were diverted for a weekend.",
            "Station platforms were lengthened to take twelve carriage trains.",
            "Ticket prices rose again despite complaints about punctuality.",
            "Tunnel boring machines dug the new line beneath the city centre.",
            "Heritage volunteers restore carriages for the preserved branch line.",
            "The timetable change added early morning services for shift workers."
        });
        TOPICS.put("lighthouses", new String[] {
            "Lighthouses guided ships past dangerous rocks along the coast.",
            "The Fresnel lens concentrated the lamp's light into a powerful beam.",
            "Many lighthouses were automated in the twentieth century.",
            "Each lighthouse has its own pattern of flashes so sailors can identify it.",
            "Storm waves sometimes broke over the top of exposed rock lighthouses.",
            "Lighthouse towers were painted with bands so they could be seen by day.",
            "Foghorns sounded from lighthouses when the light could not be seen.",
            "The lamp room at the top of a lighthouse houses the lens and the light.",
            "Supply boats brought oil and food to offshore lighthouses in calm weather.",
            "Old lighthouses are now museums that tell the history of coastal navigation.",
            "The light of a tall lighthouse can be seen more than twenty miles away.",
            "Modern lighthouses use LED lamps powered by solar panels."
        });
        TOPICS.put("medicine", new String[] {
            "The trial showed that the new drug lowered blood pressure in older patients.",
            "Vaccination programmes sharply reduced cases of measles in children.",
            "Regular exercise improves insulin sensitivity in people with diabetes.",
            "Surgeons now remove the gallbladder through small keyhole incisions.",
            "Antibiotic resistance is rising because the drugs are overprescribed.",
            "Screening for colon cancer finds tumours while they are still treatable.",
            "Physiotherapy after knee surgery speeds the return to normal walking.",
            "Sleep deprivation impairs memory and raises the risk of accidents.",
            "The hospital introduced a programme to prevent falls among older patients.",
            "Statins reduce cholesterol and the risk of heart attacks.",
            "Early treatment of stroke limits damage to the brain.",
            "Nurses monitor patients after anaesthesia until they are fully awake."
        });
    }

    /** Paragraphs of five sentences cycling through a topic's pool, {@code words} words at least. */
    private static String article(String topic, int words) {
        String[] pool = TOPICS.get(topic);
        StringBuilder sb = new StringBuilder();
        int count = 0;
        for (int p = 0; count < words; p++) {
            if (p > 0) {
                sb.append("\n\n");
            }
            for (int s = 0; s < 5; s++) {
                String sentence = pool[(p * 5 + s + p) % pool.length];
                sb.append(s == 0 ? "" : " ").append(sentence);
                count += sentence.split(" ").length;
            }
        }
        return sb.toString();
    }

    /** The needle: a paragraph about one lighthouse keeper, after 600 words of finance. */
    private static final String NEEDLE_PARAGRAPH =
            "The island's last lighthouse keeper, Tomas Varga, fed seventeen cats every evening. "
                    + "Each of his cats was named after a Roman emperor, from Augustus to Nero, and Caligula, a ginger tabby, slept on the "
                    + "stairs of the lamp room. When the light was automated, the keeper left the island and took the seventeen cats with him.";

    @BeforeClass
    public static void startNode() throws Exception {
        node = RealNode.start("passages", RealNode.port(70));
        assertOk(node.call("PUT", "/articles", mapping("\"kind\": {\"type\": \"keyword\"},")));
        assertOk(node.call("PUT", "/_ingest/pipeline/passages", """
            {"processors": [
              {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "body_vec"}}},
              {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"}, "chunking": {}}}]}"""));
        String needle = article("finance", 600) + "\n\n" + NEEDLE_PARAGRAPH + "\n\n" + article("finance", 150);
        DOCS.put("needle", needle);
        DOCS.put("finance", article("finance", 700).replace("Bond yields", "Government bond yields"));
        for (String topic : List.of("gardening", "astronomy", "cooking", "railways", "lighthouses", "medicine")) {
            DOCS.put(topic, article(topic, 650));
        }
        StringBuilder bulk = new StringBuilder();
        for (Map.Entry<String, String> doc : DOCS.entrySet()) {
            String kind = doc.getKey().equals("astronomy") || doc.getKey().equals("medicine") ? "science" : "other";
            bulk.append("{\"index\":{\"_id\":\"").append(doc.getKey()).append("\"}}\n");
            JsonObject source = new JsonObject();
            source.addProperty("kind", kind);
            source.addProperty("body", doc.getValue());
            bulk.append(source).append('\n');
        }
        RealNode.Response response = node.call(
                "POST", "/articles/_bulk?pipeline=passages&refresh=true", bulk.toString(), "application/x-ndjson");
        assertOk(response);
        assertFalse(
                response.text(), response.body().getAsJsonObject().get("errors").getAsBoolean());
    }

    @AfterClass
    public static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static String mapping(String extraFields) {
        return String.format(Locale.ROOT, """
            {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"properties": {%s
               "body": {"type": "text"},
               "body_vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
               "passages": {"type": "nested", "properties": {
                 "vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
                 "start": {"type": "integer"}, "end": {"type": "integer"}}}}}}""", extraFields);
    }

    private static void assertOk(RealNode.Response r) {
        assertTrue(r.status() + " " + r.text(), r.status() == 200 || r.status() == 201);
    }

    private static JsonArray hits(RealNode.Response r) {
        assertOk(r);
        return r.body().getAsJsonObject().getAsJsonObject("hits").getAsJsonArray("hits");
    }

    private static List<String> ids(JsonArray hits) {
        List<String> ids = new ArrayList<>();
        hits.forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        return ids;
    }

    /** The standard nested shape around embed_knn on the passages, with inner_hits that leave the vector out. */
    private static String nestedKnn(String text, int k, String filter) {
        return String.format(Locale.ROOT, """
            {"nested": {"path": "passages", "score_mode": "max",
              "query": {"embed_knn": {"passages.vec": {"query_text": "%s", "k": %d%s}}},
              "inner_hits": {"_source": {"excludes": ["passages.vec"]}}}}""", text, k, filter == null ? "" : ", \"filter\": " + filter);
    }

    private static RealNode.Response search(String index, String query) throws Exception {
        return node.call(
                "POST", "/" + index + "/_search", "{\"size\": 20, \"_source\": [\"kind\"], \"query\": " + query + "}");
    }

    private static final String QUERY = "Which lighthouse keeper fed cats named after Roman emperors?";

    @Test
    public void aSentencePastTheModelLimitIsFoundFirstWithPassagesAndMissedWithout() throws Exception {
        String needle = DOCS.get("needle");
        int at = needle.indexOf(NEEDLE);
        assertTrue(
                "the needle lies past 512 words, so past 512 tokens",
                needle.substring(0, at).split("\\s+").length > 512);

        JsonArray withPassages = hits(search("articles", nestedKnn(QUERY, 3, null)));
        assertEquals("needle", withPassages.get(0).getAsJsonObject().get("_id").getAsString());

        JsonArray whole = hits(search("articles", String.format(Locale.ROOT, """
            {"embed_knn": {"body_vec": {"query_text": "%s", "k": 8, "exact": true}}}""", QUERY)));
        assertEquals(8, whole.size());
        assertNotEquals(
                "the whole-document vector reads only the first 512 tokens",
                "needle",
                whole.get(0).getAsJsonObject().get("_id").getAsString());
        assertEquals("lighthouses", whole.get(0).getAsJsonObject().get("_id").getAsString());
    }

    @Test
    public void innerHitsGiveTheSpanOfTheMatchedPassage() throws Exception {
        JsonObject top =
                hits(search("articles", nestedKnn(QUERY, 3, null))).get(0).getAsJsonObject();
        JsonObject inner =
                top.getAsJsonObject("inner_hits").getAsJsonObject("passages").getAsJsonObject("hits");
        assertEquals(
                "one passage per document: its best",
                1,
                inner.getAsJsonArray("hits").size());
        JsonObject passage = inner.getAsJsonArray("hits").get(0).getAsJsonObject();
        JsonObject source = passage.getAsJsonObject("_source");
        assertFalse("the vector is left out", source.has("vec"));
        int start = source.get("start").getAsInt();
        int end = source.get("end").getAsInt();
        String text = DOCS.get("needle").substring(start, end);
        assertTrue("[" + text + "]", text.contains("seventeen cats") && text.contains("Roman emperor"));
        assertTrue(
                "a passage, not the document",
                start > 0 && end < DOCS.get("needle").length());
        assertEquals(top.get("_score").getAsDouble(), passage.get("_score").getAsDouble(), 1e-5);
        // the passage's offset in the stored array, and the stored array itself: every passage lies in the text
        JsonObject doc = node.call("GET", "/articles/_doc/needle", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_source");
        JsonArray passages = doc.getAsJsonArray("passages");
        assertTrue(passages.size() >= 4);
        int previousEnd = 0;
        for (JsonElement p : passages) {
            JsonObject o = p.getAsJsonObject();
            assertEquals(384, o.getAsJsonArray("vec").size());
            assertTrue(o.get("start").getAsInt() <= previousEnd + 2);
            previousEnd = o.get("end").getAsInt();
        }
        assertEquals(DOCS.get("needle").length(), previousEnd);
        int offset = passage.getAsJsonObject("_nested").get("offset").getAsInt();
        assertEquals(start, passages.get(offset).getAsJsonObject().get("start").getAsInt());
    }

    @Test
    public void kMeansKDistinctDocuments() throws Exception {
        // every passage of the astronomy article matches this query better than any other article's passage
        String query = "telescopes observing distant galaxies";
        for (int k : new int[] {1, 3, 5}) {
            List<String> ids = ids(hits(search("articles", nestedKnn(query, k, null))));
            assertEquals("k = " + k + ": " + ids, k, ids.size());
            assertEquals(k, new HashSet<>(ids).size());
            assertEquals("astronomy", ids.get(0));
        }
    }

    @Test
    public void filterSelectsDocumentsByTheirOwnFields() throws Exception {
        List<String> ids = ids(hits(search(
                "articles",
                nestedKnn("telescopes observing distant galaxies", 5, "{\"term\": {\"kind\": \"science\"}}"))));
        assertEquals(Set.of("astronomy", "medicine"), new HashSet<>(ids));
        ids = ids(hits(search("articles", nestedKnn(QUERY, 3, "{\"term\": {\"kind\": \"other\"}}"))));
        assertEquals(3, ids.size());
        assertEquals("needle", ids.get(0));
    }

    @Test
    public void composesInFusionAndBool() throws Exception {
        for (String scope : List.of("global", "shard")) {
            List<String> ids = ids(
                    hits(search("articles", String.format(Locale.ROOT, """
                {"fusion": {"method": "linear", "scope": "%s", "queries": [{"match": {"body": "%s"}}, %s]}}""", scope, QUERY, nestedKnn(QUERY, 5, null)))));
            assertEquals(scope, "needle", ids.get(0));
        }
        List<String> ids = ids(hits(search("articles", String.format(Locale.ROOT, """
            {"bool": {"must": [%s], "must_not": [{"ids": {"values": ["needle"]}}]}}""", nestedKnn(QUERY, 3, null)))));
        assertEquals("bool filters after the k nearest documents", 2, ids.size());
        assertFalse(ids.contains("needle"));
    }

    @Test
    public void outsideANestedQueryThePassageFieldIsRefusedNamingThePath() throws Exception {
        RealNode.Response r = node.call("POST", "/articles/_search", """
            {"query": {"embed_knn": {"passages.vec": {"query_text": "cats", "k": 3}}}}""");
        assertEquals(r.text(), 400, r.status());
        assertTrue(r.text(), r.text().contains("inside a [nested] query with [path] [passages]"));
    }

    /** Lucene documents in the index: parents and their nested passages. */
    private static int luceneDocs(String index) throws Exception {
        RealNode.Response r = node.call("GET", "/" + index + "/_stats/docs", null);
        assertOk(r);
        return r.body()
                .getAsJsonObject()
                .getAsJsonObject("_all")
                .getAsJsonObject("primaries")
                .getAsJsonObject("docs")
                .get("count")
                .getAsInt();
    }

    private static int passages(String index, String id) throws Exception {
        RealNode.Response r = node.call("POST", "/" + index + "/_search", String.format(Locale.ROOT, """
            {"query": {"bool": {"filter": [{"ids": {"values": ["%s"]}},
              {"nested": {"path": "passages", "query": {"match_all": {}}, "inner_hits": {"size": 100, "_source": false}}}]}}}""", id));
        JsonArray hits = hits(r);
        if (hits.isEmpty()) {
            return 0;
        }
        return hits.get(0)
                .getAsJsonObject()
                .getAsJsonObject("inner_hits")
                .getAsJsonObject("passages")
                .getAsJsonObject("hits")
                .getAsJsonObject("total")
                .get("value")
                .getAsInt();
    }

    @Test
    public void reindexingOrDeletingADocumentLeavesNoStalePassages() throws Exception {
        assertOk(node.call("PUT", "/replaced", mapping("")));
        String pipeline = "/_doc/one?pipeline=passages&refresh=true";
        assertOk(node.call(
                "PUT", "/replaced" + pipeline, "{\"body\": " + new JsonPrimitive(article("railways", 900)) + "}"));
        int long1 = passages("replaced", "one");
        assertTrue("a long text gives several passages: " + long1, long1 >= 4);
        assertEquals(1 + long1, luceneDocs("replaced"));

        assertOk(node.call("PUT", "/replaced" + pipeline, "{\"body\": \"A short note about trains.\"}"));
        assertEquals(1, passages("replaced", "one"));
        assertEquals("the old block is gone, passages and all", 2, luceneDocs("replaced"));
        assertTrue(ids(hits(search("replaced", nestedKnn("high speed line journey time", 5, null))))
                .contains("one"));

        assertOk(node.call("DELETE", "/replaced/_doc/one?refresh=true", null));
        assertEquals(0, luceneDocs("replaced"));
        assertEquals(0, hits(search("replaced", nestedKnn("trains", 5, null))).size());
    }

    @Test
    public void aTitleFieldHeadsEveryPassageVector() throws Exception {
        assertOk(node.call("PUT", "/titled", mapping("\"title\": {\"type\": \"text\"},")));
        assertOk(node.call("PUT", "/_ingest/pipeline/titled", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
              "chunking": {"title_field": "title"}}}]}"""));
        String title = "The keeper of the island lighthouse";
        String body = DOCS.get("lighthouses");
        JsonObject source = new JsonObject();
        source.addProperty("title", title);
        source.addProperty("body", body);
        assertOk(node.call("PUT", "/titled/_doc/1?pipeline=titled&refresh=true", source.toString()));
        source.remove("title");
        assertOk(node.call("PUT", "/titled/_doc/2?pipeline=titled&refresh=true", source.toString()));
        JsonArray titled = node.call("GET", "/titled/_doc/1", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_source")
                .getAsJsonArray("passages");
        JsonArray untitled = node.call("GET", "/titled/_doc/2", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_source")
                .getAsJsonArray("passages");
        assertTrue(titled.size() >= 3);
        // every passage is read as the title, a space and its own span of the body; spans stay in the body
        JsonArray texts = new JsonArray();
        JsonArray plain = new JsonArray();
        for (JsonElement p : titled) {
            String span = body.substring(
                    p.getAsJsonObject().get("start").getAsInt(),
                    p.getAsJsonObject().get("end").getAsInt());
            texts.add(title + " " + span);
            plain.add(span);
        }
        JsonObject request = new JsonObject();
        request.addProperty("model", "bge-small-en-v1.5");
        request.addProperty("role", "passage");
        request.add("texts", texts);
        JsonArray expected = node.call("POST", "/_plugins/_embeddings/embed", request.toString())
                .body()
                .getAsJsonObject()
                .getAsJsonArray("embeddings");
        request.add("texts", plain);
        JsonArray withoutTitle = node.call("POST", "/_plugins/_embeddings/embed", request.toString())
                .body()
                .getAsJsonObject()
                .getAsJsonArray("embeddings");
        for (int i = 0; i < titled.size(); i++) {
            JsonArray stored = titled.get(i).getAsJsonObject().getAsJsonArray("vec");
            assertEquals(
                    "passage " + i + " with its title",
                    1.0,
                    cosine(stored, expected.get(i).getAsJsonArray()),
                    1e-4);
            assertTrue(
                    "passage " + i + " differs from its text alone",
                    cosine(stored, withoutTitle.get(i).getAsJsonArray()) < 0.999);
        }
        // a document without the title field gets passages without a title
        assertEquals(
                "the body cut as with no title field",
                texts(untitled),
                texts(node.call("GET", "/articles/_doc/lighthouses", null)
                        .body()
                        .getAsJsonObject()
                        .getAsJsonObject("_source")
                        .getAsJsonArray("passages")));

        // a title that is not a string fails its document alone, naming the field; a bad title_field is a 400
        source.add("title", new JsonArray());
        RealNode.Response r = node.call("PUT", "/titled/_doc/3?pipeline=titled", source.toString());
        assertEquals(r.text(), 400, r.status());
        assertTrue(r.text(), r.text().contains("[embed] title field [title] must be a string"));
        assertEquals(404, node.call("GET", "/titled/_doc/3", null).status());
        r = node.call("PUT", "/_ingest/pipeline/bad", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
              "chunking": {"title_field": 5}}}]}""");
        assertEquals(r.text(), 400, r.status());
        assertTrue(r.text(), r.text().contains("[title_field] must be a field name, got [5]"));
    }

    /** Each passage's span, as {@code start-end}. */
    private static List<String> texts(JsonArray passages) {
        List<String> spans = new ArrayList<>();
        for (JsonElement p : passages) {
            spans.add(p.getAsJsonObject().get("start").getAsInt() + "-"
                    + p.getAsJsonObject().get("end").getAsInt());
        }
        return spans;
    }

    private static double cosine(JsonArray a, JsonArray b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.size(); i++) {
            double x = a.get(i).getAsDouble();
            double y = b.get(i).getAsDouble();
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        return dot / Math.sqrt(na * nb);
    }

    /** The stored passages of {@code id} in {@code index}. */
    private static JsonArray storedPassages(String index, String id) throws Exception {
        return node.call("GET", "/" + index + "/_doc/" + id, null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_source")
                .getAsJsonArray("passages");
    }

    @Test
    public void preChunkedArraysGiveOnePassagePerElementWithItsPosition() throws Exception {
        assertOk(node.call("PUT", "/chunked", mapping("").replace("\"end\": {\"type\": \"integer\"}", """
            "end": {"type": "integer"}, "element": {"type": "integer"}""")));
        assertOk(node.call("PUT", "/_ingest/pipeline/chunked", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
              "chunking": {}}}]}"""));
        String longElement = article("finance", 700);
        List<String> elements =
                List.of("Bond markets were calm on Monday.", longElement, NEEDLE_PARAGRAPH, article("gardening", 60));
        JsonObject source = new JsonObject();
        JsonArray array = new JsonArray();
        elements.forEach(array::add);
        source.add("body", array);
        assertOk(node.call("PUT", "/chunked/_doc/1?pipeline=chunked&refresh=true", source.toString()));
        JsonArray others = new JsonArray();
        for (String topic : List.of("railways", "medicine", "cooking")) {
            others.add(article(topic, 80));
        }
        source.add("body", others);
        assertOk(node.call("PUT", "/chunked/_doc/2?pipeline=chunked&refresh=true", source.toString()));

        JsonArray passages = storedPassages("chunked", "1");
        // the long element is windowed; every other element is one passage spanning all of it
        List<Integer> positions = new ArrayList<>();
        int longEnd = 0;
        for (JsonElement p : passages) {
            JsonObject o = p.getAsJsonObject();
            int element = o.get("element").getAsInt();
            positions.add(element);
            int start = o.get("start").getAsInt();
            int end = o.get("end").getAsInt();
            String text = elements.get(element);
            assertTrue("a span of its element", start >= 0 && start < end && end <= text.length());
            if (element == 1) {
                assertTrue(start <= longEnd + 2);
                longEnd = end;
            } else {
                assertEquals(0, start);
                assertEquals(text.length(), end);
            }
        }
        assertEquals(longElement.length(), longEnd);
        int windows = (int) positions.stream().filter(e -> e == 1).count();
        assertTrue("the long element is cut: " + windows, windows >= 3);
        List<Integer> expected = new ArrayList<>(List.of(0));
        for (int w = 0; w < windows; w++) {
            expected.add(1);
        }
        expected.addAll(List.of(2, 3));
        assertEquals("one passage per element, in order", expected, positions);
        assertEquals(3, storedPassages("chunked", "2").size());

        // an element is encoded as the text it is
        JsonObject request = new JsonObject();
        request.addProperty("model", "bge-small-en-v1.5");
        request.addProperty("role", "passage");
        JsonArray texts = new JsonArray();
        texts.add(NEEDLE_PARAGRAPH);
        request.add("texts", texts);
        JsonArray expectedVector = node.call("POST", "/_plugins/_embeddings/embed", request.toString())
                .body()
                .getAsJsonObject()
                .getAsJsonArray("embeddings")
                .get(0)
                .getAsJsonArray();
        JsonObject needle = passages.get(passages.size() - 2).getAsJsonObject();
        assertEquals(1.0, cosine(needle.getAsJsonArray("vec"), expectedVector), 1e-4);

        // a query finds the element: the document, and in inner_hits the passage with its element and span
        JsonObject top =
                hits(search("chunked", nestedKnn(QUERY, 2, null))).get(0).getAsJsonObject();
        assertEquals("1", top.get("_id").getAsString());
        JsonObject inner = top.getAsJsonObject("inner_hits")
                .getAsJsonObject("passages")
                .getAsJsonObject("hits")
                .getAsJsonArray("hits")
                .get(0)
                .getAsJsonObject()
                .getAsJsonObject("_source");
        assertEquals(2, inner.get("element").getAsInt());
        assertEquals(NEEDLE_PARAGRAPH.length(), inner.get("end").getAsInt());

        // bad arrays fail their document alone, naming the element; an array needs chunking
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("[\"fine\", 5]", "element [1] of source field [body] must be a non-empty string, got [Integer]");
        bad.put("[\"fine\", \"  \"]", "element [1] of source field [body] must be a non-empty string, got a blank");
        bad.put("[]", "source field [body] is an empty array");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            RealNode.Response r =
                    node.call("PUT", "/chunked/_doc/3?pipeline=chunked", "{\"body\": " + e.getKey() + "}");
            assertEquals(e.getKey() + " " + r.text(), 400, r.status());
            assertTrue(r.text(), r.text().contains(e.getValue()));
        }
        assertEquals(404, node.call("GET", "/chunked/_doc/3", null).status());
        RealNode.Response r = node.call("PUT", "/articles/_doc/3?pipeline=passages", "{\"body\": [\"a\", \"b\"]}");
        assertEquals(r.text(), 400, r.status());
        assertTrue(
                r.text(),
                r.text().contains("is an array; pre-chunked input (one passage per element) needs [chunking]"));
    }

    @Test
    public void sentenceAndDelimiterStrategiesCutOnTheirUnitsAndFindTheNeedle() throws Exception {
        String needle = DOCS.get("needle");
        for (String strategy : List.of("sentences", "delimiter")) {
            String index = "strategy-" + strategy;
            assertOk(node.call("PUT", "/" + index, mapping("")));
            assertOk(node.call("PUT", "/_ingest/pipeline/" + index, String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"},
                  "chunking": {"strategy": "%s"}}}]}""", strategy)));
            StringBuilder bulk = new StringBuilder();
            for (Map.Entry<String, String> doc : DOCS.entrySet()) {
                JsonObject source = new JsonObject();
                source.addProperty("body", doc.getValue());
                bulk.append("{\"index\":{\"_id\":\"")
                        .append(doc.getKey())
                        .append("\"}}\n")
                        .append(source)
                        .append('\n');
            }
            RealNode.Response r = node.call(
                    "POST",
                    "/" + index + "/_bulk?pipeline=" + index + "&refresh=true",
                    bulk.toString(),
                    "application/x-ndjson");
            assertOk(r);
            assertFalse(r.text(), r.body().getAsJsonObject().get("errors").getAsBoolean());
            JsonArray passages = storedPassages(index, "needle");
            assertTrue(passages.size() >= 4);
            int covered = 0;
            for (JsonElement p : passages) {
                int start = p.getAsJsonObject().get("start").getAsInt();
                int end = p.getAsJsonObject().get("end").getAsInt();
                assertTrue(strategy + ": no gap", start <= covered + 2);
                covered = end;
                // every passage is whole units: sentences end on a period, pieces at a blank line or the text's end
                assertTrue(strategy, needle.charAt(end - 1) == '.');
                if (strategy.equals("delimiter")) {
                    assertTrue(start == 0 || needle.startsWith("\n\n", start - 2));
                    assertTrue(end == needle.length() || needle.startsWith("\n\n", end));
                } else {
                    assertTrue(
                            "starts a sentence",
                            start == 0 || needle.charAt(start - 2) == '.' || needle.startsWith("\n\n", start - 2));
                }
            }
            assertEquals(needle.length(), covered);
            assertEquals(
                    strategy,
                    "needle",
                    ids(hits(search(index, nestedKnn(QUERY, 3, null)))).get(0));
        }
    }

    @Test
    public void badChunkingOptionsAndTargetsAreNamedIn400s() throws Exception {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("{\"max_tokens\": 600}", "[max_tokens] [600] exceeds the token limit [512]");
        bad.put(
                "{\"max_tokens\": 128, \"overlap_tokens\": 128}",
                "[overlap_tokens] must be at least 0 and less than [max_tokens]");
        bad.put("{\"whole_tokens\": 600}", "[whole_tokens] [600] exceeds the token limit [512]");
        bad.put("{\"max_tokens\": 128, \"whole_tokens\": 100}", "[whole_tokens] must be at least [max_tokens] (128)");
        bad.put("{\"max_tokens\": -5}", "[max_tokens] must be a positive integer");
        bad.put("{\"max_tokens\": \"big\"}", "[max_tokens] must be a positive integer");
        bad.put("{\"window\": 100}", "unknown option [window]");
        bad.put(
                "{\"strategy\": \"words\"}",
                "unknown [strategy] [words], expected one of [tokens, sentences, delimiter]");
        bad.put(
                "{\"strategy\": \"tokens\", \"overlap_sentences\": 1}",
                "[overlap_sentences] applies to [strategy] [sentences] only, not [tokens]");
        // without a strategy, the option is checked against the default's
        bad.put(
                "{\"overlap_sentences\": 1}",
                "[overlap_sentences] applies to [strategy] [sentences] only, not [delimiter]");
        bad.put(
                "{\"strategy\": \"sentences\", \"delimiter\": \"##\"}",
                "[delimiter] applies to [strategy] [delimiter] only, not [sentences]");
        bad.put("{\"strategy\": \"delimiter\", \"delimiter\": \"\"}", "[delimiter] must be a non-empty string");
        bad.put(
                "{\"strategy\": \"sentences\", \"overlap_sentences\": -1}",
                "[overlap_sentences] must be a non-negative");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            RealNode.Response r =
                    node.call("PUT", "/_ingest/pipeline/bad", String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "passages.vec"}, "chunking": %s}}]}""", e.getKey()));
            assertEquals(e.getKey() + " " + r.text(), 400, r.status());
            assertTrue(r.text(), r.text().contains(e.getValue()));
        }
        RealNode.Response r = node.call("PUT", "/_ingest/pipeline/bad", """
            {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}, "chunking": {}}}]}""");
        assertEquals(400, r.status());
        assertTrue(r.text(), r.text().contains("target [vec] must be [PATH.FIELD]"));

        // a target whose path the index maps as a plain object, or not at all
        assertOk(node.call("PUT", "/flat", """
            {"mappings": {"properties": {"body": {"type": "text"},
              "flat": {"properties": {"vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}}}"""));
        for (String target : List.of("flat.vec", "unmapped.vec")) {
            assertOk(node.call("PUT", "/_ingest/pipeline/flat", String.format(Locale.ROOT, """
                {"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "%s"}, "chunking": {}}}]}""", target)));
            r = node.call("PUT", "/flat/_doc/1?pipeline=flat", "{\"body\": \"some text\"}");
            assertEquals(target + " " + r.text(), 400, r.status());
            String path = target.substring(0, target.indexOf('.'));
            assertTrue(
                    r.text(),
                    r.text().contains("chunking target [" + target + "] needs [" + path + "] mapped as [nested]"));
        }
        assertEquals(
                "nothing was written",
                404,
                node.call("GET", "/flat/_doc/1", null).status());
    }
}

package org.embeddings.opensearch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.util.BytesRef;
import org.embeddings.opensearch.source.RestoringIndices;
import org.opensearch.action.get.GetResponse;
import org.opensearch.action.get.MultiGetResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.lucene.Lucene;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.index.IndexService;
import org.opensearch.index.engine.Engine;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.index.shard.IndexShard;
import org.opensearch.indices.IndicesService;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * Each vector stored once, in an in-JVM node: an index's sources are stored with a marker where each vector was, and
 * every read (GET, multi-get, search hits, nested documents, {@code _update}) returns the vector's floats as they were
 * sent; an index created with {@code index.embeddings.derived_source: false} stores its sources whole and answers the
 * same. The {@code _embeddings} object is accepted by a {@code dynamic: strict} mapping.
 */
public class SourceVectorsSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final int DIMS = 16;

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class);
    }

    private static final String MAPPING = String.format(java.util.Locale.ROOT, """
        {"dynamic": "strict", "properties": {
          "body": {"type": "text"},
          "vec": {"type": "embedding", "dims": %d},
          "passages": {"type": "nested", "properties": {
            "vec": {"type": "embedding", "dims": %d}, "start": {"type": "integer"}}}}}""", DIMS, DIMS);

    public void testSourcesAreStoredWithoutVectorsAndReadWithThem() throws IOException {
        create("derived", Settings.EMPTY);
        create(
                "whole",
                Settings.builder()
                        .put(RestoringIndices.DERIVED_SOURCE.getKey(), false)
                        .build());
        Random random = new Random(3);
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            StringBuilder passages = new StringBuilder();
            for (int p = 0; p < i % 4; p++) {
                passages.append(p == 0 ? "" : ",")
                        .append("{\"vec\": ")
                        .append(p == 2 ? "null" : vector(random))
                        .append(", \"start\": ")
                        .append(p)
                        .append('}');
            }
            String source = "{\"body\": \"doc " + i + "\", \"vec\": " + vector(random) + ", \"passages\": [" + passages
                    + "], \"_embeddings\": {\"vec\": \"digest-" + i + "\"}}";
            sources.add(source);
            for (String index : List.of("derived", "whole")) {
                client().prepareIndex(index)
                        .setId(Integer.toString(i))
                        .setSource(source, XContentType.JSON)
                        .get();
            }
            if (i % 10 == 9) {
                client().admin().indices().prepareRefresh("derived", "whole").get();
            }
        }
        client().admin()
                .indices()
                .prepareForceMerge("derived")
                .setMaxNumSegments(1)
                .get();
        client().admin().indices().prepareRefresh("derived", "whole").get();

        for (String index : List.of("derived", "whole")) {
            for (int i = 0; i < sources.size(); i++) {
                GetResponse get =
                        client().prepareGet(index, Integer.toString(i)).get();
                assertEquals(index + " " + i, floats(sources.get(i)), floats(get.getSourceAsString()));
            }
            MultiGetResponse mget =
                    client().prepareMultiGet().add(index, "3", "7", "11").get();
            for (org.opensearch.action.get.MultiGetItemResponse item : mget.getResponses()) {
                int i = Integer.parseInt(item.getId());
                assertEquals(floats(sources.get(i)), floats(item.getResponse().getSourceAsString()));
            }
            SearchResponse hits = client().prepareSearch(index)
                    .setQuery(QueryBuilders.matchAllQuery())
                    .setSize(100)
                    .get();
            assertEquals(sources.size(), hits.getHits().getHits().length);
            hits.getHits()
                    .forEach(hit -> assertEquals(
                            floats(sources.get(Integer.parseInt(hit.getId()))), floats(hit.getSourceAsString())));
        }
        // what is stored: markers where the vectors were, or the whole source
        for (Map<String, Object> raw : storedSources("derived")) {
            assertTrue("a root vector is stored as a marker: " + raw, raw.get("vec") instanceof Number);
            for (Object passage : (List<?>) raw.get("passages")) {
                Object v = ((Map<?, ?>) passage).get("vec");
                assertTrue("a passage vector is stored as a marker: " + v, v == null || v instanceof Number);
            }
        }
        for (Map<String, Object> raw : storedSources("whole")) {
            assertTrue("without derived source the vector stays: " + raw, raw.get("vec") instanceof List<?>);
        }

        // a partial update reads the source, vectors included, and keeps them
        client().prepareUpdate("derived", "5")
                .setDoc("{\"body\": \"changed\"}", XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        Map<String, Object> updated = client().prepareGet("derived", "5").get().getSourceAsMap();
        assertEquals("changed", updated.get("body"));
        Map<String, Object> expected = floats(sources.get(5));
        expected.put("body", "changed");
        assertEquals(expected, floats(updated));
    }

    private void create(String index, Settings settings) {
        client().admin()
                .indices()
                .prepareCreate(index)
                .setSettings(Settings.builder().put(settings).put("index.number_of_shards", 1))
                .setMapping(MAPPING)
                .get();
    }

    /** The sources as the stored-fields files hold them, read without restoring. */
    private List<Map<String, Object>> storedSources(String index) throws IOException {
        IndexService service = getInstanceFromNode(IndicesService.class).indexServiceSafe(resolveIndex(index));
        IndexShard shard = service.getShard(0);
        List<Map<String, Object>> out = new ArrayList<>();
        try (Engine.Searcher searcher = shard.acquireSearcher("test")) {
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                SegmentReader segment = Lucene.segmentReader(leaf.reader());
                StoredFields raw = unwrapped(segment);
                for (int doc = 0; doc < segment.maxDoc(); doc++) {
                    BytesRef source = raw.document(doc).getBinaryValue("_source");
                    if (source != null) {
                        out.add(XContentHelper.convertToMap(new BytesArray(source), true, XContentType.JSON)
                                .v2());
                    }
                }
            }
        }
        assertFalse(out.isEmpty());
        return out;
    }

    /** The segment's stored fields without the restoring wrapper, where there is one. */
    private static StoredFields unwrapped(SegmentReader segment) {
        org.apache.lucene.codecs.StoredFieldsReader reader = segment.getFieldsReader();
        try {
            java.lang.reflect.Method unwrap = reader.getClass().getDeclaredMethod("unwrap");
            unwrap.setAccessible(true);
            return (StoredFields) unwrap.invoke(reader);
        } catch (NoSuchMethodException e) {
            return reader;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    private static String vector(Random random) {
        StringBuilder b = new StringBuilder("[");
        for (int d = 0; d < DIMS; d++) {
            b.append(d == 0 ? "" : ",").append(random.nextFloat() * 2 - 1);
        }
        return b.append(']').toString();
    }

    private static Map<String, Object> floats(String json) {
        return floats(XContentHelper.convertToMap(new BytesArray(json), true, XContentType.JSON)
                .v2());
    }

    /** The source with every floating number read as a float: the same floats compare equal, whatever their text. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> floats(Map<String, Object> source) {
        return (Map<String, Object>) asFloats(source);
    }

    private static Object asFloats(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<Object, Object> out = new java.util.LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k, asFloats(v)));
            return out;
        }
        if (value instanceof List<?> l) {
            return new ArrayList<>(
                    l.stream().map(SourceVectorsSingleNodeTests::asFloats).toList());
        }
        if (value instanceof Double || value instanceof Float) {
            return ((Number) value).floatValue();
        }
        return value;
    }
}

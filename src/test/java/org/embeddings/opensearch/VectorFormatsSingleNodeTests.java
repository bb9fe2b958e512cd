package org.embeddings.opensearch;

import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.embeddings.opensearch.action.VectorsStatsAction;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.admin.indices.mapping.get.GetMappingsResponse;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.codec.CodecService;
import org.opensearch.index.codec.CodecServiceFactory;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.EnginePlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * {@code index_options} of {@code embedding} fields in an in-JVM node, with vectors given directly (no model): every
 * option round-trips through the mapping, really changes what Lucene writes (seen through the vector stats action),
 * and searches correctly; {@code oversample} changes the ranking only by rescoring the quantized candidates with
 * float32 vectors; bad options answer 400 naming them; options cannot change on an existing field; model-bound
 * mappings always carry their dims.
 *
 * <p>Beside the k-NN plugin: {@link KnnLikePlugin} does what k-NN does to an index's codec. It registers
 * {@code index.knn} and supplies the codec service of every index with {@code index.knn: true}. OpenSearch refuses
 * to create an index for which two plugins supply a codec service, so these indices exist only if this plugin
 * supplies none there; on them, {@code embedding} fields work with the default options, and other
 * {@code index_options} are refused with a 400 instead of being ignored.
 */
public class VectorFormatsSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final int DOCS = 1000;
    private static final int DIMS = 64;
    /** Documents fall in tight groups of ten around random centroids: each query's ten neighbours stand out. */
    private static final int GROUPS = 100;
    /** field name -> index_options (null: none given). */
    private static final Map<String, String> FIELDS = new LinkedHashMap<>();

    static {
        FIELDS.put("hnsw_default", null);
        FIELDS.put("hnsw_small", "{\"type\": \"hnsw\", \"m\": 8, \"ef_construction\": 50}");
        FIELDS.put("hnsw_int8", "{\"quantization\": \"int8\"}");
        FIELDS.put("hnsw_int4", "{\"type\": \"hnsw\", \"quantization\": \"int4\"}");
        FIELDS.put(
                "hnsw_binary",
                "{\"type\": \"hnsw\", \"m\": 16, \"ef_construction\": 100, \"quantization\": \"binary\"}");
        FIELDS.put("flat_none", "{\"type\": \"flat\"}");
        FIELDS.put("flat_int8", "{\"type\": \"flat\", \"quantization\": \"int8\"}");
        FIELDS.put("flat_int4", "{\"type\": \"flat\", \"quantization\": \"int4\"}");
        FIELDS.put("flat_binary", "{\"type\": \"flat\", \"quantization\": \"binary\"}");
    }

    private static float[][] vectors;

    /** The part of the k-NN plugin that matters here. */
    public static final class KnnLikePlugin extends Plugin implements EnginePlugin {
        static final Setting<Boolean> KNN =
                Setting.boolSetting("index.knn", false, Setting.Property.IndexScope, Setting.Property.Final);

        @Override
        public List<Setting<?>> getSettings() {
            return List.of(KNN);
        }

        @Override
        public Optional<CodecServiceFactory> getCustomCodecServiceFactory(IndexSettings indexSettings) {
            if (KNN.get(indexSettings.getSettings())) {
                return Optional.of(c -> new CodecService(
                        c.getMapperService(), c.getIndexSettings(), c.getLogger(), c.getAdditionalCodecs()));
            }
            return Optional.empty();
        }
    }

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class, KnnLikePlugin.class);
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    /** The index with one field per option (every test ends with all indices deleted, so tests that need it make it). */
    private void createFormatsIndex() {
        StringBuilder mapping = new StringBuilder("{\"properties\": {\"parity\": {\"type\": \"keyword\"}");
        for (Map.Entry<String, String> f : FIELDS.entrySet()) {
            mapping.append(", \"")
                    .append(f.getKey())
                    .append("\": {\"type\": \"embedding\", \"dims\": ")
                    .append(DIMS);
            if (f.getValue() != null) {
                mapping.append(", \"index_options\": ").append(f.getValue());
            }
            mapping.append('}');
        }
        mapping.append("}}");
        client().admin()
                .indices()
                .prepareCreate("formats")
                .setSettings(Settings.builder().put("index.number_of_shards", 1).put("index.refresh_interval", "-1"))
                .setMapping(mapping.toString())
                .get();
        vectors = clustered(new Random(17), DOCS);
        // two segments merged into one: a merge builds each graph again from the quantized vectors
        for (int from = 0; from < DOCS; from += DOCS / 2) {
            BulkRequestBuilder bulk = client().prepareBulk("formats");
            for (int i = from; i < from + DOCS / 2; i++) {
                Map<String, Object> source = new HashMap<>();
                source.put("parity", i % 2 == 0 ? "even" : "odd");
                for (String field : FIELDS.keySet()) {
                    source.put(field, vectors[i]);
                }
                bulk.add(client().prepareIndex("formats")
                        .setId(Integer.toString(i))
                        .setSource(source));
            }
            BulkResponse response = bulk.get();
            assertFalse(response.buildFailureMessage(), response.hasFailures());
            client().admin().indices().prepareRefresh("formats").get();
        }
        client().admin()
                .indices()
                .prepareForceMerge("formats")
                .setMaxNumSegments(1)
                .get();
        client().admin().indices().prepareRefresh("formats").get();
    }

    private static float[][] centroids;

    /** {@code n} vectors, the i-th near centroid {@code i % GROUPS}. */
    static float[][] clustered(Random random, int n) {
        if (centroids == null) {
            Random fixed = new Random(29);
            centroids = new float[GROUPS][DIMS];
            for (float[] c : centroids) {
                for (int d = 0; d < DIMS; d++) {
                    c[d] = (float) fixed.nextGaussian();
                }
            }
        }
        float[][] out = new float[n][DIMS];
        for (int i = 0; i < n; i++) {
            float[] c = centroids[i % GROUPS];
            for (int d = 0; d < DIMS; d++) {
                out[i][d] = c[d] + 0.3f * (float) random.nextGaussian();
            }
        }
        return out;
    }

    private static String vectorJson(float[] v) {
        return IntStream.range(0, v.length)
                .mapToObj(i -> Float.toString(v[i]))
                .collect(Collectors.joining(",", "[", "]"));
    }

    private SearchResponse knn(String field, float[] query, int k, String extra) {
        String json = "{\"embed_knn\": {\"" + field + "\": {\"query_vector\": " + vectorJson(query) + ", \"k\": " + k
                + extra + "}}}";
        return client().prepareSearch("formats")
                .setSize(k)
                .setQuery(QueryBuilders.wrapperQuery(json))
                .get();
    }

    /** Ids of the {@code k} documents most similar to {@code query} in float32, best first. */
    private static List<String> exactTop(float[] query, int k) {
        return IntStream.range(0, DOCS)
                .boxed()
                .sorted(Comparator.comparingDouble(
                                (Integer i) -> -VectorSimilarityFunction.COSINE.compare(query, vectors[i]))
                        .thenComparingInt(i -> i))
                .limit(k)
                .map(String::valueOf)
                .toList();
    }

    private static List<String> ids(SearchResponse r) {
        return Arrays.stream(r.getHits().getHits()).map(SearchHit::getId).toList();
    }

    /** Tasks the plugin's merge pool has completed on this node. */
    private long mergePoolTasks() {
        return java.util.stream.StreamSupport.stream(
                        getInstanceFromNode(org.opensearch.threadpool.ThreadPool.class)
                                .stats()
                                .spliterator(),
                        false)
                .filter(s -> s.getName().equals(EmbeddingsPlugin.MERGE_POOL))
                .mapToLong(org.opensearch.threadpool.ThreadPoolStats.Stats::getCompleted)
                .sum();
    }

    /**
     * {@code index.embeddings.merge_workers}: a force-merge builds each graph with that many workers on the plugin's
     * merge pool (its completed tasks grow; with the default of 1, Lucene merges on the merging thread and the pool
     * stays idle), for a default field and a quantized one alike, and the merged graphs find the same neighbours.
     */
    public void testMergeWorkersBuildTheGraphsOnThePluginsPool() throws Exception {
        for (int workers : new int[] {1, 2}) {
            String index = "merged-" + workers;
            client().admin()
                    .indices()
                    .prepareCreate(index)
                    .setSettings(Settings.builder()
                            .put("index.number_of_shards", 1)
                            .put("index.refresh_interval", "-1")
                            .put("index.embeddings.merge_workers", workers))
                    .setMapping("{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": " + DIMS
                            + "}, \"q\": {\"type\": \"embedding\", \"dims\": " + DIMS
                            + ", \"index_options\": {\"quantization\": \"int8\"}}}}")
                    .get();
            float[][] docs = clustered(new Random(31), DOCS);
            for (int from = 0; from < DOCS; from += DOCS / 2) {
                BulkRequestBuilder bulk = client().prepareBulk(index);
                for (int i = from; i < from + DOCS / 2; i++) {
                    bulk.add(client().prepareIndex(index)
                            .setId(Integer.toString(i))
                            .setSource(Map.of("v", docs[i], "q", docs[i])));
                }
                assertFalse(bulk.get().hasFailures());
                client().admin().indices().prepareRefresh(index).get();
            }
            long before = mergePoolTasks();
            client().admin()
                    .indices()
                    .prepareForceMerge(index)
                    .setMaxNumSegments(1)
                    .get();
            client().admin().indices().prepareRefresh(index).get();
            long tasks = mergePoolTasks() - before;
            if (workers == 1) {
                assertEquals("one worker merges on the merging thread", 0, tasks);
            } else {
                assertTrue("the merge ran workers on the plugin's pool: " + tasks, tasks > 0);
            }
            for (String field : List.of("v", "q")) {
                int found = 0;
                for (int probe = 0; probe < 20; probe++) {
                    float[] query = docs[probe * 37];
                    String json = "{\"embed_knn\": {\"" + field + "\": {\"query_vector\": " + vectorJson(query)
                            + ", \"k\": 10}}}";
                    List<String> hits = ids(client().prepareSearch(index)
                            .setSize(10)
                            .setQuery(QueryBuilders.wrapperQuery(json))
                            .get());
                    List<String> exact = IntStream.range(0, DOCS)
                            .boxed()
                            .sorted(Comparator.comparingDouble(
                                    (Integer i) -> -VectorSimilarityFunction.COSINE.compare(query, docs[i])))
                            .limit(10)
                            .map(String::valueOf)
                            .toList();
                    found += (int) hits.stream().filter(exact::contains).count();
                }
                assertTrue(index + " " + field + " recall@10 " + found / 200.0, found >= 180);
            }
        }
    }

    /** One index for every check that needs it: the test framework deletes all indices after each test. */
    public void testEveryOptionEndToEnd() throws Exception {
        createFormatsIndex();
        checkMappings();
        checkVectorBytes();
        checkNearestVectors();
        checkOversampleChangesTheRankingOnlyByRescoring();
        checkBadQueriesAreRefused();
    }

    @SuppressWarnings("unchecked")
    private void checkMappings() {
        GetMappingsResponse response =
                client().admin().indices().prepareGetMappings("formats").get();
        Map<String, Object> properties = (Map<String, Object>)
                response.mappings().get("formats").sourceAsMap().get("properties");
        for (Map.Entry<String, String> f : FIELDS.entrySet()) {
            Map<String, Object> field = (Map<String, Object>) properties.get(f.getKey());
            assertEquals(f.getKey(), DIMS, field.get("dims"));
            Map<String, Object> options = (Map<String, Object>) field.get("index_options");
            if (f.getValue() == null) {
                assertNull("a field without options keeps the mapping it always had: " + field, options);
                continue;
            }
            boolean flat = f.getKey().startsWith("flat");
            assertEquals(f.getKey(), flat ? "flat" : "hnsw", options.get("type"));
            assertEquals(
                    f.getKey(),
                    f.getKey().substring(f.getKey().indexOf('_') + 1).replace("small", "none"),
                    options.get("quantization"));
            if (flat == false) {
                assertEquals(f.getKey().equals("hnsw_small") ? 8 : 16, options.get("m"));
                assertEquals(f.getKey().equals("hnsw_small") ? 50 : 100, options.get("ef_construction"));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void checkVectorBytes() throws Exception {
        VectorsStatsAction.Response stats = client().execute(
                        VectorsStatsAction.INSTANCE, new VectorsStatsAction.Request("formats"))
                .actionGet();
        XContentBuilder builder = XContentFactory.jsonBuilder();
        stats.toXContent(builder, ToXContent.EMPTY_PARAMS);
        Map<String, Object> json = XContentHelper.convertToMap(BytesReference.bytes(builder), false, XContentType.JSON)
                .v2();
        Map<String, Object> fields = (Map<String, Object>)
                ((Map<String, Object>) ((Map<String, Object>) json.get("indices")).get("formats")).get("fields");
        assertEquals(FIELDS.keySet(), fields.keySet());
        long floats = (long) DOCS * DIMS * Float.BYTES;
        Map<String, Long> quantized = new HashMap<>();
        for (String name : FIELDS.keySet()) {
            Map<String, Object> primaries =
                    (Map<String, Object>) ((Map<String, Object>) fields.get(name)).get("primaries");
            String why = name + ": " + primaries;
            assertEquals(why, DOCS, ((Number) primaries.get("vectors")).intValue());
            assertEquals(why, 1, ((Number) primaries.get("segments")).intValue());
            assertEquals(
                    "float32 vectors are always kept: " + why,
                    floats,
                    ((Number) primaries.get("raw_bytes")).longValue());
            long q = ((Number) primaries.get("quantized_bytes")).longValue();
            long graph = ((Number) primaries.get("graph_bytes")).longValue();
            long searchPath = ((Number) primaries.get("search_path_bytes")).longValue();
            assertEquals(why, name.startsWith("flat"), graph == 0);
            assertEquals(why, name.contains("int") || name.contains("binary"), q > 0);
            assertEquals(why, graph + (q > 0 ? q : floats), searchPath);
            quantized.put(name, q);
        }
        // 8, 4 and 1 bits per dimension, each with the same per-vector corrections
        assertTrue(quantized.toString(), quantized.get("hnsw_int8") > quantized.get("hnsw_int4"));
        assertTrue(quantized.toString(), quantized.get("hnsw_int4") > quantized.get("hnsw_binary"));
        assertEquals(quantized.get("hnsw_int8"), quantized.get("flat_int8"));
        assertEquals(quantized.get("hnsw_binary"), quantized.get("flat_binary"));
        assertTrue(quantized.toString(), quantized.get("hnsw_int8") >= (long) DOCS * DIMS);
    }

    private void checkNearestVectors() {
        Random random = new Random(3);
        float[][] queries = clustered(random, 20);
        Map<String, Double> recalls = new LinkedHashMap<>();
        for (String field : FIELDS.keySet()) {
            double recall = 0;
            for (float[] q : queries) {
                List<String> exact = exactTop(q, 10);
                SearchResponse r = knn(field, q, 10, ", \"num_candidates\": 100");
                recall += ids(r).stream().filter(exact::contains).count() / 10.0;
                if (field.startsWith("flat") || field.contains("int") || field.contains("binary")) {
                    // float32 or rescored with float32: every score is the exact similarity
                    for (SearchHit hit : r.getHits().getHits()) {
                        assertEquals(
                                field,
                                VectorSimilarityFunction.COSINE.compare(q, vectors[Integer.parseInt(hit.getId())]),
                                hit.getScore(),
                                1e-6f);
                    }
                }
                List<String> exactOption = ids(knn(field, q, 10, ", \"exact\": true"));
                assertEquals(field + ": exact search is exact over float32 vectors", exact, exactOption);
            }
            recalls.put(field, recall / queries.length);
        }
        assertTrue("recall@10 per field: " + recalls, recalls.values().stream().allMatch(r -> r >= 0.95));
        assertEquals("recall@10 per field: " + recalls, 1.0, recalls.get("flat_none"), 0);
    }

    private void checkOversampleChangesTheRankingOnlyByRescoring() {
        Random random = new Random(5);
        int reordered = 0;
        for (String field : List.of("hnsw_int8", "hnsw_int4", "hnsw_binary", "flat_binary")) {
            for (float[] q : clustered(random, 10)) {
                // the same candidate search: k' = 30 from the quantized vectors, 30 explored per segment
                SearchResponse pool = knn(field, q, 30, ", \"num_candidates\": 30, \"oversample\": 0");
                SearchResponse rescored = knn(field, q, 10, ", \"num_candidates\": 30, \"oversample\": 3");
                Map<String, Float> candidates = new HashMap<>();
                for (SearchHit hit : pool.getHits().getHits()) {
                    candidates.put(
                            hit.getId(),
                            VectorSimilarityFunction.COSINE.compare(q, vectors[Integer.parseInt(hit.getId())]));
                }
                assertEquals(30, candidates.size());
                List<String> expected = candidates.entrySet().stream()
                        .sorted(Map.Entry.<String, Float>comparingByValue()
                                .reversed()
                                .thenComparing(Map.Entry::getKey))
                        .limit(10)
                        .map(Map.Entry::getKey)
                        .toList();
                List<String> got = ids(rescored);
                assertEquals(
                        field + ": the top 10 of the same candidates by exact float32 score",
                        Set.copyOf(expected),
                        Set.copyOf(got));
                for (SearchHit hit : rescored.getHits().getHits()) {
                    // the float32 similarity (of the stored unit vector, within rounding of the one given)
                    assertEquals(candidates.get(hit.getId()), hit.getScore(), 1e-6f);
                }
                if (ids(pool).subList(0, 10).equals(got) == false) {
                    reordered++;
                }
            }
        }
        assertTrue("rescoring never changed a ranking, so this test shows nothing", reordered > 5);
    }

    /**
     * Passages take the same road as top-level vectors: on a binary-quantized nested field, {@code exact} ranks the
     * parents by their best passage's float32 similarity (brute force here), and the default {@code oversample}
     * gives float32 scores, while {@code oversample: 0} keeps the quantized search's own scores. Before the one
     * kNN road, passages ignored both.
     */
    public void testQuantizedPassagesTakeOversampleAndExactAsTopLevelVectorsDo() {
        int parents = 400;
        int perParent = 3;
        client().admin()
                .indices()
                .prepareCreate("passages-q")
                .setSettings(Settings.builder().put("index.number_of_shards", 1))
                .setMapping("{\"properties\": {\"passages\": {\"type\": \"nested\", \"properties\": {\"vec\": "
                        + "{\"type\": \"embedding\", \"dims\": " + DIMS
                        + ", \"index_options\": {\"quantization\": \"binary\"}}}}}}")
                .get();
        float[][] all = clustered(new Random(41), parents * perParent);
        BulkRequestBuilder bulk = client().prepareBulk("passages-q");
        for (int p = 0; p < parents; p++) {
            StringBuilder doc = new StringBuilder("{\"passages\": [");
            for (int i = 0; i < perParent; i++) {
                doc.append(i == 0 ? "" : ",")
                        .append("{\"vec\": ")
                        .append(vectorJson(all[p * perParent + i]))
                        .append('}');
            }
            bulk.add(client().prepareIndex("passages-q")
                    .setId(String.valueOf(p))
                    .setSource(doc.append("]}").toString(), XContentType.JSON));
        }
        BulkResponse indexed = bulk.get();
        assertFalse(indexed.buildFailureMessage(), indexed.hasFailures());
        client().admin().indices().prepareRefresh("passages-q").get();

        Random random = new Random(43);
        int quantizedScores = 0;
        for (int round = 0; round < 5; round++) {
            float[] q = all[random.nextInt(all.length)].clone();
            for (int d = 0; d < DIMS; d++) {
                q[d] += 0.5f * (float) random.nextGaussian();
            }
            // float32 ground truth: each parent by its best passage
            Map<String, Float> best = new HashMap<>();
            for (int i = 0; i < all.length; i++) {
                best.merge(
                        String.valueOf(i / perParent), VectorSimilarityFunction.COSINE.compare(q, all[i]), Math::max);
            }
            List<String> expected = best.entrySet().stream()
                    .sorted(Map.Entry.<String, Float>comparingByValue()
                            .reversed()
                            .thenComparing(Map.Entry.comparingByKey()))
                    .limit(10)
                    .map(Map.Entry::getKey)
                    .toList();

            SearchResponse exact = nestedKnn(q, ", \"exact\": true");
            assertEquals(expected, ids(exact));
            for (SearchHit hit : exact.getHits().getHits()) {
                assertEquals(hit.getId(), best.get(hit.getId()), hit.getScore(), 1e-5f);
            }

            for (SearchHit hit : nestedKnn(q, "").getHits().getHits()) {
                assertTrue(
                        "hit " + hit.getId() + " scored " + hit.getScore() + ", not a float32 score of its passages",
                        isPassageScore(q, all, Integer.parseInt(hit.getId()), perParent, hit.getScore()));
            }
            for (SearchHit hit : nestedKnn(q, ", \"oversample\": 0").getHits().getHits()) {
                if (isPassageScore(q, all, Integer.parseInt(hit.getId()), perParent, hit.getScore()) == false) {
                    quantizedScores++;
                }
            }
        }
        assertTrue("oversample 0 never gave a quantized score, so this test shows nothing", quantizedScores > 0);
    }

    private SearchResponse nestedKnn(float[] q, String extra) {
        String json = "{\"nested\": {\"path\": \"passages\", \"score_mode\": \"max\", \"query\": {\"embed_knn\": "
                + "{\"passages.vec\": {\"query_vector\": " + vectorJson(q) + ", \"k\": 10" + extra + "}}}}}";
        return client().prepareSearch("passages-q")
                .setSize(10)
                .setQuery(QueryBuilders.wrapperQuery(json))
                .get();
    }

    private static boolean isPassageScore(float[] q, float[][] all, int parent, int perParent, float score) {
        for (int i = parent * perParent; i < (parent + 1) * perParent; i++) {
            if (Math.abs(VectorSimilarityFunction.COSINE.compare(q, all[i]) - score) < 1e-5f) {
                return true;
            }
        }
        return false;
    }

    public void testBadOptionsAreRefusedNamingThem() {
        String[][] cases = {
            {"{\"type\": \"ivf\"}", "unknown [type] [ivf]"},
            {"{\"quantization\": \"int2\"}", "unknown quantization [int2]"},
            {"{\"m\": 0}", "[m] must be within [1, 512], got [0]"},
            {"{\"m\": \"many\"}", "[m] must be an integer, got [many]"},
            {"{\"ef_construction\": 5000}", "[ef_construction] must be within [1, 3200], got [5000]"},
            {"{\"encoder\": \"sq\"}", "unknown [index_options] parameter [encoder]"},
            {"{\"type\": \"flat\", \"m\": 8}", "[type: flat] has none"},
            {"\"int8\"", "[index_options] of field [v] must be an object"}
        };
        for (String[] c : cases) {
            String mapping = "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": "
                    + c[0] + "}}}";
            Exception e = expectThrows(
                    Exception.class,
                    () -> client().admin()
                            .indices()
                            .prepareCreate("bad")
                            .setMapping(mapping)
                            .get());
            assertEquals(c[0], 400, ExceptionsHelper.status(e).getStatus());
            assertTrue(c[0] + " -> " + e.getMessage(), e.getMessage().contains(c[1]));
            assertFalse(client().admin().indices().prepareExists("bad").get().isExists());
        }
    }

    public void testOptionsCannotChangeOnAnExistingField() {
        client().admin()
                .indices()
                .prepareCreate("fixed")
                .setMapping(
                        "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"quantization\": \"int8\"}}}}")
                .get();
        for (String options :
                List.of("{\"quantization\": \"binary\"}", "{\"type\": \"flat\", \"quantization\": \"int8\"}", "null")) {
            String update = "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4"
                    + (options.equals("null") ? "" : ", \"index_options\": " + options) + "}}}";
            Exception e = expectThrows(
                    Exception.class,
                    () -> client().admin()
                            .indices()
                            .preparePutMapping("fixed")
                            .setSource(update, XContentType.JSON)
                            .get());
            assertEquals(400, ExceptionsHelper.status(e).getStatus());
            assertTrue(e.getMessage(), e.getMessage().contains("Cannot update parameter [index_options]"));
        }
        // the same options again are no change
        client().admin()
                .indices()
                .preparePutMapping("fixed")
                .setSource(
                        "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"type\": \"hnsw\", \"quantization\": \"int8\"}}}}",
                        XContentType.JSON)
                .get();
    }

    @SuppressWarnings("unchecked")
    public void testModelBoundMappingsCarryTheirDims() {
        // a model this node does not know, with its dims: accepted as given (a mapping made where the model is
        // installed)
        client().admin()
                .indices()
                .prepareCreate("custom")
                .setMapping(
                        "{\"properties\": {\"v\": {\"type\": \"embedding\", \"model\": \"My-Own-Model\", \"dims\": 8}}}")
                .get();
        Map<String, Object> v = (Map<String, Object>) ((Map<String, Object>) client().admin()
                        .indices()
                        .prepareGetMappings("custom")
                        .get()
                        .mappings()
                        .get("custom")
                        .sourceAsMap()
                        .get("properties"))
                .get("v");
        assertEquals(8, v.get("dims"));
        assertEquals("my-own-model", v.get("model"));

        Exception alone = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("alone")
                        .setMapping("{\"properties\": {\"v\": {\"type\": \"embedding\", \"model\": \"my-own-model\"}}}")
                        .get());
        assertEquals(400, ExceptionsHelper.status(alone).getStatus());
        assertTrue(alone.getMessage(), alone.getMessage().contains("give [dims]"));

        // a model whose card this node has: the dims come from it, are written down, and must agree when given
        client().admin()
                .indices()
                .prepareCreate("bge")
                .setMapping("{\"properties\": {\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\"}}}")
                .get();
        Map<String, Object> bge = (Map<String, Object>) ((Map<String, Object>) client().admin()
                        .indices()
                        .prepareGetMappings("bge")
                        .get()
                        .mappings()
                        .get("bge")
                        .sourceAsMap()
                        .get("properties"))
                .get("v");
        assertEquals(384, bge.get("dims"));
        Exception disagree = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("disagree")
                        .setMapping(
                                "{\"properties\": {\"v\": {\"type\": \"embedding\", \"model\": \"bge-small-en-v1.5\", \"dims\": 100}}}")
                        .get());
        assertTrue(
                disagree.getMessage(),
                disagree.getMessage().contains("has dims [100] but model [bge-small-en-v1.5] produces [384]"));
    }

    private void checkBadQueriesAreRefused() {
        Exception e = expectThrows(Exception.class, () -> knn("hnsw_int8", new float[] {1, 2, 3}, 10, ""));
        assertTrue(
                ExceptionsHelper.stackTrace(e), ExceptionsHelper.stackTrace(e).contains("[query_vector] has [3]"));
        Exception oversample =
                expectThrows(Exception.class, () -> knn("hnsw_int8", vectors[0], 10, ", \"oversample\": 0.5"));
        assertTrue(
                ExceptionsHelper.stackTrace(oversample),
                ExceptionsHelper.stackTrace(oversample).contains("[oversample] must be 0"));
        Exception both =
                expectThrows(Exception.class, () -> knn("hnsw_int8", vectors[0], 10, ", \"query_text\": \"x\""));
        assertTrue(
                ExceptionsHelper.stackTrace(both),
                ExceptionsHelper.stackTrace(both).contains("not both"));
    }

    private static final String INT8_FIELD =
            "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"quantization\": \"int8\"}}}}";

    public void testOnAKnnIndexTheDefaultsWorkAndOtherOptionsAreRefused() {
        Settings knn = Settings.builder()
                .put("index.knn", true)
                .put("index.number_of_shards", 1)
                .build();
        client().admin()
                .indices()
                .prepareCreate("knn")
                .setSettings(knn)
                .setMapping("v", "type=embedding,dims=4")
                .get();
        client().prepareIndex("knn")
                .setId("1")
                .setSource("{\"v\": [1, 0, 0, 0]}", XContentType.JSON)
                .get();
        client().prepareIndex("knn")
                .setId("2")
                .setSource("{\"v\": [0, 1, 0, 0]}", XContentType.JSON)
                .get();
        client().admin().indices().prepareRefresh("knn").get();
        SearchResponse r = client().prepareSearch("knn")
                .setQuery(QueryBuilders.wrapperQuery(
                        "{\"embed_knn\": {\"v\": {\"query_vector\": [0.9, 0.1, 0, 0], \"k\": 1}}}"))
                .get();
        assertEquals("1", r.getHits().getAt(0).getId());

        Exception create = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("knn2")
                        .setSettings(knn)
                        .setMapping(INT8_FIELD)
                        .get());
        assertEquals(400, ExceptionsHelper.status(create).getStatus());
        assertTrue(
                create.getMessage(),
                create.getMessage().contains("[index.knn: true], so the k-NN plugin supplies its codec"));
        assertFalse(client().admin().indices().prepareExists("knn2").get().isExists());

        Exception update = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .preparePutMapping("knn")
                        .setSource(
                                "{\"properties\": {\"w\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"type\": \"flat\"}}}}",
                                XContentType.JSON)
                        .get());
        assertEquals(400, ExceptionsHelper.status(update).getStatus());
        assertTrue(update.getMessage(), update.getMessage().contains("[index_options] of field [w]"));
    }

    public void testWithoutIndexKnnTheOptionsApply() {
        client().admin()
                .indices()
                .prepareCreate("plain")
                .setSettings(Settings.builder().put("index.knn", false))
                .setMapping(INT8_FIELD)
                .get();
        client().prepareIndex("plain")
                .setId("1")
                .setSource("{\"v\": [1, 0, 0, 0]}", XContentType.JSON)
                .get();
        client().admin().indices().prepareRefresh("plain").get();
        VectorsStatsAction.Response stats = client().execute(
                        VectorsStatsAction.INSTANCE, new VectorsStatsAction.Request("plain"))
                .actionGet();
        long quantized = stats.fields().stream()
                .mapToLong(VectorsStatsAction.ShardField::quantizedBytes)
                .sum();
        assertTrue("int8 vectors written by this plugin's codec: " + quantized, quantized > 0);
    }
}

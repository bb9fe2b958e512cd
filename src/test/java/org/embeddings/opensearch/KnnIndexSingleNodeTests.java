package org.embeddings.opensearch;

import org.embeddings.opensearch.action.VectorsStatsAction;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.codec.CodecService;
import org.opensearch.index.codec.CodecServiceFactory;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.EnginePlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Beside the k-NN plugin. {@link KnnLikePlugin} does what k-NN does to an index's codec: it registers
 * {@code index.knn} and supplies the codec service of every index with {@code index.knn: true}. OpenSearch refuses
 * to create an index for which two plugins supply a codec service, so these indices exist only if this plugin
 * supplies none there; on them, {@code embedding} fields work with the default options, and other
 * {@code index_options} are refused with a 400 instead of being ignored.
 */
public class KnnIndexSingleNodeTests extends OpenSearchSingleNodeTestCase {
    /** The part of the k-NN plugin that matters here. */
    public static final class KnnLikePlugin extends Plugin implements EnginePlugin {
        static final Setting<Boolean> KNN = Setting.boolSetting("index.knn", false, Setting.Property.IndexScope, Setting.Property.Final);

        @Override
        public List<Setting<?>> getSettings() {
            return List.of(KNN);
        }

        @Override
        public Optional<CodecServiceFactory> getCustomCodecServiceFactory(IndexSettings indexSettings) {
            if (KNN.get(indexSettings.getSettings())) {
                return Optional.of(c -> new CodecService(c.getMapperService(), c.getIndexSettings(), c.getLogger(), c.getAdditionalCodecs()));
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

    private static final String OPTIONS = "{\"properties\": {\"v\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"quantization\": \"int8\"}}}}";

    public void testOnAKnnIndexTheDefaultsWorkAndOtherOptionsAreRefused() {
        Settings knn = Settings.builder().put("index.knn", true).put("index.number_of_shards", 1).build();
        client().admin().indices().prepareCreate("knn").setSettings(knn).setMapping("v", "type=embedding,dims=4").get();
        client().prepareIndex("knn").setId("1").setSource("{\"v\": [1, 0, 0, 0]}", XContentType.JSON).get();
        client().prepareIndex("knn").setId("2").setSource("{\"v\": [0, 1, 0, 0]}", XContentType.JSON).get();
        client().admin().indices().prepareRefresh("knn").get();
        SearchResponse r = client().prepareSearch("knn")
            .setQuery(QueryBuilders.wrapperQuery("{\"embed_knn\": {\"v\": {\"query_vector\": [0.9, 0.1, 0, 0], \"k\": 1}}}"))
            .get();
        assertEquals("1", r.getHits().getAt(0).getId());

        Exception create = expectThrows(
            Exception.class,
            () -> client().admin().indices().prepareCreate("knn2").setSettings(knn).setMapping(OPTIONS).get()
        );
        assertEquals(400, ExceptionsHelper.status(create).getStatus());
        assertTrue(create.getMessage(), create.getMessage().contains("[index.knn: true], so the k-NN plugin supplies its codec"));
        assertFalse(client().admin().indices().prepareExists("knn2").get().isExists());

        Exception update = expectThrows(
            Exception.class,
            () -> client().admin()
                .indices()
                .preparePutMapping("knn")
                .setSource("{\"properties\": {\"w\": {\"type\": \"embedding\", \"dims\": 4, \"index_options\": {\"type\": \"flat\"}}}}", XContentType.JSON)
                .get()
        );
        assertEquals(400, ExceptionsHelper.status(update).getStatus());
        assertTrue(update.getMessage(), update.getMessage().contains("[index_options] of field [w]"));
    }

    public void testWithoutIndexKnnTheOptionsApply() {
        client().admin().indices().prepareCreate("plain").setSettings(Settings.builder().put("index.knn", false)).setMapping(OPTIONS).get();
        client().prepareIndex("plain").setId("1").setSource("{\"v\": [1, 0, 0, 0]}", XContentType.JSON).get();
        client().admin().indices().prepareRefresh("plain").get();
        VectorsStatsAction.Response stats = client().execute(VectorsStatsAction.INSTANCE, new VectorsStatsAction.Request(new String[] { "plain" })).actionGet();
        long quantized = stats.getNodes().get(0).fields().stream().mapToLong(VectorsStatsAction.ShardField::quantizedBytes).sum();
        assertTrue("int8 vectors written by this plugin's codec: " + quantized, quantized > 0);
    }
}

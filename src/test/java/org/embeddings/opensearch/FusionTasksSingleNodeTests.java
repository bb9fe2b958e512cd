package org.embeddings.opensearch;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.admin.cluster.node.tasks.list.ListTasksResponse;
import org.opensearch.action.search.SearchAction;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.common.action.ActionFuture;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.tasks.TaskId;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.env.Environment;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.tasks.Task;
import org.opensearch.tasks.TaskInfo;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * Global {@code fusion}'s sub-searches on an in-JVM node: they are children of the user's search task (a test filter
 * sees their parent), they are cancelled when that task is cancelled (a test query blocks one of them on a shard
 * until released), and a window in which shards failed fails the fusion instead of being fused without them.
 */
public class FusionTasksSingleNodeTests extends OpenSearchSingleNodeTestCase {
    private static final String BGE = "bge-small-en-v1.5";

    /** Parent task of every search the node ran, by the search's own task id. */
    static final Map<Long, TaskId> PARENTS = new ConcurrentHashMap<>();

    static volatile CountDownLatch release = new CountDownLatch(0);

    /** Records each search's parent task, and adds {@code test_block}: a query that holds its shard until released. */
    public static final class TestPlugin extends Plugin implements ActionPlugin, SearchPlugin {
        @Override
        public List<ActionFilter> getActionFilters() {
            return List.of(new ActionFilter() {
                @Override
                public int order() {
                    return 0;
                }

                @Override
                public <Request extends ActionRequest, Response extends ActionResponse> void apply(
                        Task task,
                        String action,
                        Request request,
                        ActionListener<Response> listener,
                        ActionFilterChain<Request, Response> chain) {
                    if (SearchAction.NAME.equals(action) && task != null) {
                        PARENTS.put(task.getId(), task.getParentTaskId());
                    }
                    chain.proceed(task, action, request, listener);
                }
            });
        }

        @Override
        public List<QuerySpec<?>> getQueries() {
            return List.of(new QuerySpec<>(BlockQueryBuilder.NAME, BlockQueryBuilder::new, BlockQueryBuilder::parse));
        }
    }

    public static final class BlockQueryBuilder extends AbstractQueryBuilder<BlockQueryBuilder> {
        static final String NAME = "test_block";

        BlockQueryBuilder() {}

        BlockQueryBuilder(StreamInput in) throws IOException {
            super(in);
        }

        static BlockQueryBuilder parse(XContentParser parser) throws IOException {
            parser.skipChildren();
            return new BlockQueryBuilder();
        }

        @Override
        protected void doWriteTo(StreamOutput out) {}

        @Override
        protected void doXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject(NAME).endObject();
        }

        @Override
        protected Query doToQuery(QueryShardContext context) throws IOException {
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new MatchAllDocsQuery();
        }

        @Override
        protected boolean doEquals(BlockQueryBuilder other) {
            return true;
        }

        @Override
        protected int doHashCode() {
            return 0;
        }

        @Override
        public String getWriteableName() {
            return NAME;
        }
    }

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EmbeddingsPlugin.class, TestPlugin.class);
    }

    @Override
    public void setUp() throws Exception {
        super.setUp();
        TestModels.install(getInstanceFromNode(Environment.class), BGE);
        client().admin()
                .indices()
                .prepareCreate("notes")
                .setMapping("body", "type=text", "vec", "type=embedding,model=" + BGE)
                .get();
        client().admin()
                .indices()
                .prepareCreate("other")
                .setMapping("body", "type=text", "vec", "type=keyword")
                .get();
        client().prepareIndex("notes")
                .setId("1")
                .setSource("{\"body\": \"lava and ash\", \"vec\": " + unitVector() + "}", XContentType.JSON)
                .get();
        client().prepareIndex("other")
                .setId("2")
                .setSource("{\"body\": \"lava flows\", \"vec\": \"not a vector\"}", XContentType.JSON)
                .get();
        client().admin().indices().prepareRefresh().get();
    }

    private static String unitVector() {
        StringBuilder v = new StringBuilder("[1");
        for (int i = 1; i < 384; i++) {
            v.append(",0");
        }
        return v.append(']').toString();
    }

    public void testSubSearchesAreChildrenOfTheUsersSearch() {
        PARENTS.clear();
        SearchResponse response = client().prepareSearch("notes")
                .setQuery(QueryBuilders.wrapperQuery(
                        "{\"fusion\": {\"queries\": [{\"match\": {\"body\": \"lava\"}}, {\"match_all\": {}}]}}"))
                .get();
        assertEquals(1, response.getHits().getTotalHits().value());
        List<Long> outer = PARENTS.entrySet().stream()
                .filter(e -> e.getValue().isSet() == false)
                .map(Map.Entry::getKey)
                .toList();
        assertEquals(PARENTS.toString(), 1, outer.size());
        List<TaskId> children = PARENTS.values().stream().filter(TaskId::isSet).toList();
        assertEquals(PARENTS.toString(), 2, children.size());
        for (TaskId parent : children) {
            assertEquals(outer.get(0).longValue(), parent.getId());
        }
    }

    public void testCancellingTheSearchCancelsItsSubSearches() throws Exception {
        release = new CountDownLatch(1);
        try {
            ActionFuture<SearchResponse> search = client().prepareSearch("notes")
                    .setQuery(QueryBuilders.wrapperQuery(
                            "{\"fusion\": {\"queries\": [{\"test_block\": {}}, {\"match_all\": {}}]}}"))
                    .execute();
            TaskInfo[] found = new TaskInfo[2];
            assertBusy(
                    () -> {
                        ListTasksResponse tasks = client().admin()
                                .cluster()
                                .prepareListTasks()
                                .setActions(SearchAction.NAME)
                                .setDetailed(true)
                                .get();
                        found[0] = tasks.getTasks().stream()
                                .filter(t -> t.getParentTaskId().isSet() == false)
                                .findFirst()
                                .orElse(null);
                        found[1] = tasks.getTasks().stream()
                                .filter(t -> t.getParentTaskId().isSet())
                                .findFirst()
                                .orElse(null);
                        assertNotNull("outer search", found[0]);
                        assertNotNull("blocked sub-search", found[1]);
                    },
                    30,
                    TimeUnit.SECONDS);
            assertEquals(found[0].getTaskId(), found[1].getParentTaskId());

            client().admin()
                    .cluster()
                    .prepareCancelTasks()
                    .setTaskId(found[0].getTaskId())
                    .get();
            assertBusy(
                    () -> {
                        ListTasksResponse tasks = client().admin()
                                .cluster()
                                .prepareListTasks()
                                .setTaskId(found[1].getTaskId())
                                .get();
                        assertTrue(
                                "the sub-search was cancelled with its parent",
                                tasks.getTasks().isEmpty()
                                        || tasks.getTasks().get(0).isCancelled());
                    },
                    30,
                    TimeUnit.SECONDS);
            release.countDown();
            Exception e = expectThrows(Exception.class, () -> search.actionGet(TimeValue.timeValueSeconds(60)));
            assertTrue(
                    ExceptionsHelper.stackTrace(e),
                    ExceptionsHelper.stackTrace(e).contains("cancelled"));
        } finally {
            release.countDown();
        }
    }

    public void testAWindowWithFailedShardsFailsTheFusion() {
        // "other" maps vec as a keyword: embed_knn fails on its shard, so the embed_knn window misses a shard
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareSearch("notes", "other")
                        .setQuery(
                                QueryBuilders.wrapperQuery(
                                        "{\"fusion\": {\"queries\": [{\"match\": {\"body\": \"lava\"}}, {\"embed_knn\": {\"vec\": {\"query_text\": \"volcanoes\"}}}]}}"))
                        .get());
        String trace = ExceptionsHelper.stackTrace(e);
        assertTrue(trace, trace.contains("the window of sub-query [1] is incomplete (1 of 2 shards failed"));
        assertTrue(trace, trace.contains("needs a field of type [embedding]"));
        assertEquals(trace, RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
    }
}

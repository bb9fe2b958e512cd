package org.embeddings.opensearch.ingest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.breaker.CircuitBreakingException;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.indices.breaker.BreakerSettings;
import org.opensearch.indices.breaker.HierarchyCircuitBreakerService;

/**
 * {@link BulkCharge} against a real OpenSearch breaker (a child of {@link HierarchyCircuitBreakerService}, as a node
 * builds it from the plugin's settings): reservations add up to the limit and past it are refused with a 429 that
 * names the setting and holds nothing; releases and closing give everything back, once; a reservation after closing
 * is given back at once.
 */
public class BulkChargeTest {
    private static CircuitBreaker breaker(long limit) {
        HierarchyCircuitBreakerService service = new HierarchyCircuitBreakerService(
                Settings.EMPTY,
                List.of(new BreakerSettings(
                        BulkCharge.BREAKER,
                        limit,
                        1.0,
                        CircuitBreaker.Type.MEMORY,
                        CircuitBreaker.Durability.TRANSIENT)),
                new ClusterSettings(Settings.EMPTY, ClusterSettings.BUILT_IN_CLUSTER_SETTINGS));
        return service.getBreaker(BulkCharge.BREAKER);
    }

    @Test
    public void reservationsPastTheLimitAre429sThatHoldNothing() {
        CircuitBreaker breaker = breaker(10_000);
        BulkCharge first = new BulkCharge(breaker);
        BulkCharge second = new BulkCharge(breaker);
        first.reserve(6_000, "first");
        CircuitBreakingException refused =
                assertThrows(CircuitBreakingException.class, () -> second.reserve(6_000, "second"));
        assertEquals(RestStatus.TOO_MANY_REQUESTS, refused.status());
        assertTrue(refused.getMessage(), refused.getMessage().contains(BulkCharge.LIMIT_SETTING));
        assertEquals(0, second.bytes());
        assertEquals(6_000, breaker.getUsed());
        second.reserve(4_000, "second, smaller");
        assertEquals(10_000, breaker.getUsed());
        assertEquals(1, breaker.getTrippedCount());
    }

    @Test
    public void releasesAndCloseGiveBackEverythingOnce() {
        CircuitBreaker breaker = breaker(100_000);
        BulkCharge charge = new BulkCharge(breaker);
        charge.reserve(5_000, "a");
        charge.reserve(3_000, "b");
        charge.release(2_000);
        assertEquals(6_000, breaker.getUsed());
        charge.release(1_000_000); // never more than it holds
        assertEquals(0, breaker.getUsed());
        charge.reserve(7_000, "c");
        charge.close();
        charge.close();
        assertEquals(0, breaker.getUsed());
        charge.reserve(9_000, "after the bulk was answered");
        assertEquals(0, breaker.getUsed());
        assertEquals(0, charge.bytes());
    }
}

package org.embeddings.opensearch.ingest;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the {@code embed} processors of this node did with each vector they wrote, per model. Every vector counts once,
 * in one of:
 * <ul>
 *   <li>{@code encoded}: the model made it (a text, or one passage window);</li>
 *   <li>{@code reused}: the stored version of the same document held it, for the same digest (one multi-get per
 *       slice of a bulk, {@code lookups} documents asked for, in {@code lookup_millis});</li>
 *   <li>{@code deduplicated}: the same text (or window) earlier in the same bulk was encoded, and its vector copied;</li>
 *   <li>{@code skipped}: the document arrived with the vector and its digest already, and kept them ({@code _reindex},
 *       {@code _update_by_query}, a client sending back what it read).</li>
 * </ul>
 */
public final class ReuseStats {
    /** One model's counters. */
    public static final class Counters {
        final LongAdder encoded = new LongAdder();
        final LongAdder reused = new LongAdder();
        final LongAdder deduplicated = new LongAdder();
        final LongAdder skipped = new LongAdder();
        final LongAdder lookups = new LongAdder();
        final LongAdder lookupNanos = new LongAdder();

        Snapshot snapshot() {
            return new Snapshot(
                    encoded.sum(),
                    reused.sum(),
                    deduplicated.sum(),
                    skipped.sum(),
                    lookups.sum(),
                    lookupNanos.sum() / 1_000_000);
        }
    }

    /** One model's counters at one moment. */
    public record Snapshot(
            long encoded, long reused, long deduplicated, long skipped, long lookups, long lookupMillis) {}

    private final Map<String, Counters> models = new ConcurrentHashMap<>();

    Counters of(String model) {
        return models.computeIfAbsent(model, m -> new Counters());
    }

    /** Every model that wrote a vector on this node, by name. */
    public Map<String, Snapshot> snapshot() {
        Map<String, Snapshot> out = new TreeMap<>();
        models.forEach((model, counters) -> out.put(model, counters.snapshot()));
        return out;
    }
}

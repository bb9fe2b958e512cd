package org.embeddings.opensearch.inference;

import java.util.concurrent.atomic.LongAdder;
import org.opensearch.common.cache.Cache;
import org.opensearch.common.cache.CacheBuilder;

/**
 * A bounded LRU cache of query vectors keyed by model and query text, so that a repeated query skips inference.
 * Vectors go in and come out as copies: a caller that scales or reuses its array cannot change what the next
 * query with the same text receives. A size of 0 disables the cache.
 */
public final class QueryVectorCache {
    private record Key(String model, String text) {}

    private final Cache<Key, float[]> cache;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public QueryVectorCache(int size) {
        this.cache = size > 0
                ? CacheBuilder.<Key, float[]>builder().setMaximumWeight(size).build()
                : null;
    }

    /** A copy of the cached vector, or null (counted as a miss). */
    public float[] get(String model, String text) {
        float[] cached = cache == null ? null : cache.get(new Key(model, text));
        if (cached == null) {
            misses.increment();
            return null;
        }
        hits.increment();
        return cached.clone();
    }

    public void put(String model, String text, float[] vector) {
        if (cache != null) {
            cache.put(new Key(model, text), vector.clone());
        }
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    public long entries() {
        return cache == null ? 0 : cache.count();
    }
}

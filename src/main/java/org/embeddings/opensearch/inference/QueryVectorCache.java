package org.embeddings.opensearch.inference;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.atomic.LongAdder;
import org.opensearch.common.cache.Cache;
import org.opensearch.common.cache.CacheBuilder;

/**
 * A bounded LRU cache of query vectors, so that a repeated query skips inference, sized in bytes.
 *
 * <p>An entry is keyed by the SHA-256 of the model name and the query text, and holds the vector: nothing of the text
 * is kept, however long it is (a text the model reads only the start of costs the cache the same 32-byte key as a
 * short one), and a collision would take a crafted SHA-256 collision. The model's prompt is a function of its name, so
 * the digest covers the prompted text; it does not cover the truncation (where the model stops reading depends on its
 * tokens, which are not known before the query's encode), so two long texts that differ only past that point get two
 * entries. Each entry is weighed as its vector's bytes plus {@value #ENTRY_OVERHEAD} bytes for its key and the
 * cache's own bookkeeping.
 *
 * <p>Vectors go in and come out as copies: a caller that scales or reuses its array cannot change what the next
 * query with the same text receives. A size of 0 bytes disables the cache.
 */
public final class QueryVectorCache {
    /** Bytes an entry costs besides its vector: the digest key (object, array, model reference) and the LRU entry. */
    static final long ENTRY_OVERHEAD = 160;

    /** A digest of model and text; equal keys mean equal inputs. */
    public record Key(String model, long a, long b, long c, long d) {}

    private final Cache<Key, float[]> cache;
    private final long maxBytes;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public QueryVectorCache(long maxBytes) {
        this.maxBytes = maxBytes;
        this.cache = maxBytes > 0
                ? CacheBuilder.<Key, float[]>builder()
                        .setMaximumWeight(maxBytes)
                        .weigher((key, vector) -> weight(vector))
                        .build()
                : null;
    }

    static long weight(float[] vector) {
        return (long) vector.length * Float.BYTES + 16 + ENTRY_OVERHEAD;
    }

    /** The key of {@code text} for {@code model}: SHA-256 of both, streamed through a small buffer. */
    public static Key key(String model, String text) {
        MessageDigest digest = sha256();
        digest.update(model.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        for (int i = 0; i < text.length(); i++) {
            if (buffer.remaining() < 2) {
                digest.update(buffer.array(), 0, buffer.position());
                buffer.clear();
            }
            buffer.putChar(text.charAt(i));
        }
        digest.update(buffer.array(), 0, buffer.position());
        ByteBuffer d = ByteBuffer.wrap(digest.digest());
        return new Key(model, d.getLong(), d.getLong(), d.getLong(), d.getLong());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A copy of the cached vector, or null (counted as a miss). */
    public float[] get(Key key) {
        float[] cached = cache == null ? null : cache.get(key);
        if (cached == null) {
            misses.increment();
            return null;
        }
        hits.increment();
        return cached.clone();
    }

    public void put(Key key, float[] vector) {
        if (cache != null) {
            cache.put(key, vector.clone());
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

    /** Bytes the entries weigh now, at most {@link #maxBytes()}. */
    public long bytes() {
        return cache == null ? 0 : cache.weight();
    }

    public long maxBytes() {
        return Math.max(maxBytes, 0);
    }
}

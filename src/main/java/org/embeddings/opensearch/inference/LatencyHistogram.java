package org.embeddings.opensearch.inference;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Lock-free latency histogram with log-spaced buckets (each 10 % wider than the one before, from 10 µs to about
 * 20 minutes), so a percentile is reported within 10 % of the true value at any scale, in fixed memory.
 */
final class LatencyHistogram {
    private static final double BASE_NANOS = 10_000;
    private static final double GROWTH = 1.1;
    private static final int BUCKETS = 200;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    void record(long nanos) {
        int bucket = nanos <= BASE_NANOS ? 0 : (int) Math.ceil(Math.log(nanos / BASE_NANOS) / Math.log(GROWTH));
        counts.incrementAndGet(Math.min(bucket, BUCKETS - 1));
    }

    /** The upper bound, in milliseconds, of the bucket holding the {@code p}-th percentile; 0 when empty. */
    double percentileMillis(double p) {
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            total += counts.get(i);
        }
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(p / 100 * total);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts.get(i);
            if (seen >= Math.max(1, rank)) {
                return BASE_NANOS * Math.pow(GROWTH, i) / 1e6;
            }
        }
        return BASE_NANOS * Math.pow(GROWTH, BUCKETS - 1) / 1e6;
    }

    /** {@link #percentileMillis} for each of {@code percentiles}. */
    double[] percentilesMillis(double[] percentiles) {
        double[] out = new double[percentiles.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = percentileMillis(percentiles[i]);
        }
        return out;
    }
}

package org.embeddings.lucene;

import java.lang.reflect.Constructor;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;

/**
 * The Lucene vector format of one field: an HNSW graph (or none: {@code graph == false}, every search scans all
 * vectors exactly), built with {@code m} connections per node and a beam of {@code efConstruction}, over float32
 * vectors or a {@link Quantization quantized} copy of them.
 *
 * <p>Only formats that Lucene registers for SPI are written ({@code Lucene99HnswVectorsFormat} and
 * {@code Lucene104HnswScalarQuantizedVectorsFormat}), so that any node reads the segments back by the format name
 * recorded per field, whatever the parameters were: parameters only matter when a segment is written, and every
 * choice is recorded in the segment itself. A graph-free field is the same format with a tiny-segment threshold
 * no segment reaches, so its reader answers every search by the exhaustive scan Lucene uses for tiny segments.
 *
 * <p>The quantized formats take Lucene's {@code ScalarEncoding}, which moved between Lucene 10.4 and 10.5 (from
 * {@code Lucene104ScalarQuantizedVectorsFormat} to {@code QuantizedByteVectorValues}); the encoding is looked up
 * by name on the constructor's parameter type, so the same plugin code runs on both.
 */
public record VectorFormat(boolean graph, Quantization quantization, int m, int efConstruction) {
    /** Lucene's defaults, which OpenSearch's own codec writes for every vector field. */
    public static final int DEFAULT_M = Lucene99HnswVectorsFormat.DEFAULT_MAX_CONN;

    public static final int DEFAULT_EF_CONSTRUCTION = Lucene99HnswVectorsFormat.DEFAULT_BEAM_WIDTH;
    public static final int MAX_M = Lucene99HnswVectorsFormat.MAXIMUM_MAX_CONN;
    public static final int MAX_EF_CONSTRUCTION = Lucene99HnswVectorsFormat.MAXIMUM_BEAM_WIDTH;
    /** What an {@code embedding} field without {@code index_options} gets: float32 HNSW with Lucene's defaults. */
    public static final VectorFormat DEFAULT =
            new VectorFormat(true, Quantization.NONE, DEFAULT_M, DEFAULT_EF_CONSTRUCTION);

    /** No segment has this many expected visits, so no segment gets a graph. */
    private static final int NEVER_A_GRAPH = Integer.MAX_VALUE;

    public VectorFormat {
        if (m < 1 || m > MAX_M) {
            throw new IllegalArgumentException("[m] must be within [1, " + MAX_M + "], got [" + m + "]");
        }
        if (efConstruction < 1 || efConstruction > MAX_EF_CONSTRUCTION) {
            throw new IllegalArgumentException(
                    "[ef_construction] must be within [1, " + MAX_EF_CONSTRUCTION + "], got [" + efConstruction + "]");
        }
    }

    public boolean isDefault() {
        return equals(DEFAULT);
    }

    /** A new format instance, merging on one thread; callers keep one per distinct value. */
    public KnnVectorsFormat newFormat() {
        return newFormat(MergeWorkers.SINGLE);
    }

    /**
     * A new format instance whose merges build a graph with {@code workers}; callers keep one per distinct value, so
     * that fields alike share their files. The workers are not recorded in the segment: they only change how a
     * merge builds the graph, not what any reader needs.
     */
    public KnnVectorsFormat newFormat(MergeWorkers workers) {
        int threads = graph ? workers.count() : 1;
        ExecutorService executor = graph ? workers.executorOrNull() : null;
        if (quantization == Quantization.NONE) {
            return graph
                    ? new Lucene99HnswVectorsFormat(m, efConstruction, threads, executor)
                    : new Lucene99HnswVectorsFormat(m, efConstruction, 1, null, NEVER_A_GRAPH);
        }
        return QuantizedFormats.create(
                quantization.luceneEncoding(),
                m,
                efConstruction,
                threads,
                executor,
                graph ? Lucene99HnswVectorsFormat.HNSW_GRAPH_THRESHOLD : NEVER_A_GRAPH);
    }

    /** Builds {@link Lucene104HnswScalarQuantizedVectorsFormat} through the constructor that takes an encoding. */
    private static final class QuantizedFormats {
        private static final Constructor<Lucene104HnswScalarQuantizedVectorsFormat> CONSTRUCTOR = constructor();

        @SuppressWarnings({"unchecked", "rawtypes"})
        static KnnVectorsFormat create(
                String encoding,
                int m,
                int efConstruction,
                int mergeWorkers,
                ExecutorService executor,
                int tinySegmentsThreshold) {
            Class<? extends Enum> type = (Class<? extends Enum>) CONSTRUCTOR.getParameterTypes()[0];
            try {
                return CONSTRUCTOR.newInstance(
                        Enum.valueOf(type, encoding), m, efConstruction, mergeWorkers, executor, tinySegmentsThreshold);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(
                        "cannot create Lucene's scalar-quantized HNSW format with encoding [" + encoding + "]", e);
            }
        }

        @SuppressWarnings("unchecked")
        private static Constructor<Lucene104HnswScalarQuantizedVectorsFormat> constructor() {
            return (Constructor<Lucene104HnswScalarQuantizedVectorsFormat>)
                    Arrays.stream(Lucene104HnswScalarQuantizedVectorsFormat.class.getConstructors())
                            .filter(c -> {
                                Class<?>[] p = c.getParameterTypes();
                                return p.length == 6
                                        && p[0].isEnum()
                                        && p[1] == int.class
                                        && p[2] == int.class
                                        && p[3] == int.class
                                        && p[4] == ExecutorService.class
                                        && p[5] == int.class;
                            })
                            .findFirst()
                            .orElseThrow(
                                    () -> new IllegalStateException(
                                            "this Lucene has no Lucene104HnswScalarQuantizedVectorsFormat(ScalarEncoding, int, int, int, ExecutorService, int)"));
        }
    }
}

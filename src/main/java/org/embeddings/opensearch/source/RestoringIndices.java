package org.embeddings.opensearch.source;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.opensearch.common.settings.Setting;
import org.opensearch.core.index.Index;

/**
 * The indices on this node whose codec restores vectors into sources ({@link SourceVectorsCodec}), and so whose
 * sources {@link MaskSourceVectors} may store without them. The codec service adds an index when it wraps the codec
 * the index is configured with; the index is removed when it leaves the node (closed or deleted), so an index opened
 * again decides again. One decision point, so that a source is never stored without its vectors where the codec would
 * not put them back.
 */
public final class RestoringIndices implements Predicate<Index> {
    /**
     * Whether an index stores each vector once, in its vector files, and restores it into {@code _source} on every
     * read (true, the default), or keeps it in {@code _source} too. Fixed when the index is created.
     */
    public static final Setting<Boolean> DERIVED_SOURCE = Setting.boolSetting(
            "index.embeddings.derived_source", true, Setting.Property.IndexScope, Setting.Property.Final);

    private final Set<Index> indices = ConcurrentHashMap.newKeySet();

    public void add(Index index) {
        indices.add(index);
    }

    public void remove(Index index) {
        indices.remove(index);
    }

    @Override
    public boolean test(Index index) {
        return indices.contains(index);
    }
}

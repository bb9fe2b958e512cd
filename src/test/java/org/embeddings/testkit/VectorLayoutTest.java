package org.embeddings.testkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class VectorLayoutTest {
    @Test
    public void theFormatsAreTheNamesTheBenchmarksTake() {
        // bench.sh vectors million takes these names and the benchmarks print them: renaming one breaks both
        assertEquals(
                List.of(
                        "hnsw",
                        "hnsw-int8",
                        "hnsw-int4",
                        "hnsw-binary",
                        "flat",
                        "flat-int8",
                        "flat-int4",
                        "flat-binary"),
                VectorLayout.formats().stream().map(VectorLayout::label).toList());
        assertEquals(VectorLayout.FLAT_INT4, VectorLayout.format("flat-int4"));
        IllegalArgumentException unknown =
                assertThrows(IllegalArgumentException.class, () -> VectorLayout.format("hnsw-m8"));
        assertTrue(unknown.getMessage(), unknown.getMessage().contains("expected some of [hnsw, hnsw-int8,"));
    }

    @Test
    public void graphAndQuantizationAreReadFromTheIndexOptions() {
        for (VectorLayout layout : VectorLayout.values()) {
            assertEquals(layout.label(), layout.label().startsWith("hnsw"), layout.graph());
            assertEquals(
                    layout.label(),
                    layout.label().endsWith("int8")
                            || layout.label().endsWith("int4")
                            || layout.label().endsWith("binary"),
                    layout.quantized());
        }
        assertFalse(VectorLayout.HNSW_M8.quantized());
    }

    @Test
    public void theDefaultLayoutGivesNoIndexOptions() {
        assertEquals("{\"type\": \"embedding\", \"dims\": 64}", VectorLayout.HNSW.field(64));
        assertEquals(
                "{\"type\": \"embedding\", \"dims\": 384, \"index_options\": {\"type\": \"flat\", \"quantization\":"
                        + " \"int8\"}}",
                VectorLayout.FLAT_INT8.field(384));
    }
}

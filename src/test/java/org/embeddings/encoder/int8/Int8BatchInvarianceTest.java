package org.embeddings.encoder.int8;

import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.TestModelFiles;
import org.embeddings.encoder.models.ModelRegistry;
import org.embeddings.testkit.RecipeReference;
import org.embeddings.testkit.TestTexts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A text's {@code -int8} vector is the same whatever it is batched with: the same 64 texts encoded one at a time,
 * in one batch, and shuffled among 500 others of every length give vectors that agree to a cosine of at least
 * 0.999999 (rounding: the sequence length a batch is padded to changes the order of some fp32 sums). Checked on
 * the three Maven Central models, as a node builds their int8 forms on this machine. With per-tensor dynamic
 * activation scales (int8 before version 6) the same texts moved to cosines of 0.98 with their batch.
 */
public class Int8BatchInvarianceTest {
    private static final double SAME = 0.999999;

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static ModelRegistry registry;

    @BeforeClass
    public static void setUp() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        for (String model : List.of("bge-small-en-v1.5", "e5-small-v2", "all-minilm-l6-v2")) {
            TestModelFiles.link(model, root);
        }
        registry = new ModelRegistry(
                List.of(root),
                EncoderSettings.defaults(),
                Long.MAX_VALUE,
                tmp.newFolder("int8").toPath());
    }

    @AfterClass
    public static void tearDown() {
        if (registry != null) {
            registry.close();
        }
    }

    private static void assertBatchInvariant(String model) {
        Encoder encoder = registry.encoder(model);
        List<String> texts = TestTexts.varied(64, 1);
        float[][] batched = encoder.encode(texts, Role.PASSAGE);
        List<String> mixed = new ArrayList<>(TestTexts.varied(500, 2));
        mixed.addAll(texts);
        Collections.shuffle(mixed, new Random(3));
        float[][] amongOthers = encoder.encode(mixed, Role.PASSAGE);
        double worst = 1;
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = encoder.encode(texts.get(i), Role.PASSAGE);
            float[] shuffled = amongOthers[mixed.indexOf(texts.get(i))];
            worst = Math.min(worst, RecipeReference.cosine(alone, batched[i]));
            worst = Math.min(worst, RecipeReference.cosine(alone, shuffled));
        }
        assertTrue(model + ": lowest cosine between a text alone and batched " + worst, worst >= SAME);
    }

    @Test
    public void bge() {
        assertBatchInvariant("bge-small-en-v1.5-int8");
    }

    @Test
    public void e5() {
        assertBatchInvariant("e5-small-v2-int8");
    }

    @Test
    public void miniLm() {
        assertBatchInvariant("all-minilm-l6-v2-int8");
    }

    /** fp32 too: what the int8 forms are held to. */
    @Test
    public void bgeFp32() {
        assertBatchInvariant("bge-small-en-v1.5");
    }
}

package org.embeddings.encoder;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import org.embeddings.encoder.card.CardCatalog;
import org.embeddings.encoder.card.ModelCard;
import org.junit.Test;

/**
 * The check that keeps a {@link LoneQuerySession}: on the real bge-small-en-v1.5 a one-thread session passes it
 * against the two-thread one, and a session of another model with the same vocabulary and dims (e5-small-v2) fails
 * it, so the check compares what the sessions compute.
 */
public class LoneQueryCheckTest {
    @Test
    public void theSameModelOnFewerThreadsPassesAndAnotherModelFails() {
        Path bge = TestModelFiles.folder("bge-small-en-v1.5");
        Path e5 = TestModelFiles.folder("e5-small-v2");
        ModelCard card =
                ModelCard.fromJson(CardCatalog.bundled("bge-small-en-v1.5").orElseThrow());
        NativeThread thread = new NativeThread("lone-check");
        try {
            thread.call(() -> {
                try (ModelTokenizer tokenizer = new ModelTokenizer(bge.resolve("tokenizer.json"), card.maxTokens());
                        OnnxModel two = new OnnxModel(bge.resolve("model.onnx"), card, new SessionSettings(2, false));
                        OnnxModel one = new OnnxModel(bge.resolve("model.onnx"), card, new SessionSettings(1, false));
                        OnnxModel other =
                                new OnnxModel(e5.resolve("model.onnx"), card, new SessionSettings(1, false))) {
                    assertTrue(LoneQuerySession.sameVectors(card, tokenizer, two, one));
                    assertFalse(LoneQuerySession.sameVectors(card, tokenizer, two, other));
                }
                return null;
            });
        } finally {
            thread.close();
        }
    }
}

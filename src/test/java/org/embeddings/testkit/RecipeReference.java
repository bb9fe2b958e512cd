package org.embeddings.testkit;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.Map;

/**
 * An independent implementation of a sentence-embedding recipe, written the plain way (one text, nested Java arrays,
 * no batching, no padding): tokenize with the model's tokenizer, run the graph, take the CLS row or the masked mean
 * of {@code last_hidden_state}, L2-normalize. Tests compare the plugin's vectors against it.
 */
public final class RecipeReference implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final OrtSession session;
    private final boolean cls;

    public RecipeReference(Path modelDir, int maxTokens, boolean cls) throws Exception {
        System.setProperty("offline", "true");
        this.tokenizer = HuggingFaceTokenizer.builder()
                .optTokenizerPath(modelDir.resolve("tokenizer.json"))
                .optMaxLength(maxTokens)
                .optTruncation(true)
                .optPadding(false)
                .build();
        this.session = OrtEnvironment.getEnvironment()
                .createSession(modelDir.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
        this.cls = cls;
    }

    public float[] embed(String text) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Encoding e = tokenizer.encode(text);
        long[][] ids = {e.getIds()};
        long[][] mask = {e.getAttentionMask()};
        long[][] types = {e.getTypeIds()};
        try (OnnxTensor tIds = OnnxTensor.createTensor(env, ids);
                OnnxTensor tMask = OnnxTensor.createTensor(env, mask);
                OnnxTensor tTypes = OnnxTensor.createTensor(env, types);
                OrtSession.Result result =
                        session.run(Map.of("input_ids", tIds, "attention_mask", tMask, "token_type_ids", tTypes))) {
            float[][] hidden =
                    ((float[][][]) result.get("last_hidden_state").get().getValue())[0];
            float[] v = new float[hidden[0].length];
            if (cls) {
                System.arraycopy(hidden[0], 0, v, 0, v.length);
            } else {
                for (float[] token : hidden) {
                    for (int d = 0; d < v.length; d++) {
                        v[d] += token[d] / hidden.length;
                    }
                }
            }
            double norm = 0;
            for (float x : v) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int d = 0; d < v.length; d++) {
                v[d] /= norm;
            }
            return v;
        }
    }

    public static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Override
    public void close() throws Exception {
        session.close();
        tokenizer.close();
    }
}

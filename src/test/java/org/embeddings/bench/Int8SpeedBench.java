package org.embeddings.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.embeddings.testkit.RealNode;

/**
 * The two speed ratios of issue 12, measured in one run on one real node: {@code <model>-int8} against
 * {@code <model>} in docs/s on SciFact documents through {@code _bulk} + {@code embed} (bulks of 100, one client,
 * into an index bound to each form), and in texts/s on STSB sentences through {@code POST
 * /_plugins/_embeddings/embed} (role none, 64 texts a call). Both models are loaded (and the int8 file built)
 * before timing starts. The work is cut into rounds and the two forms alternate within each round, the one going
 * first changing every round, so that whatever else runs on the machine weighs on both alike; the ratio is
 * total fp32 seconds over total int8 seconds for the same texts, and the per-round ratios are printed beside it.
 * Each round's sentences are sent {@code bench.sentence.passes} times (default 2), after the indexes are refreshed
 * and their merges have finished, so that the sentence phase runs on a node with nothing else to do.
 *
 * <p>Usage: {@code src/scripts/bench.sh int8 [MODEL] [DOCS] [SENTENCES] [ROUNDS]} (defaults: bge-small-en-v1.5,
 * 1000, 2000, 4).
 */
public final class Int8SpeedBench {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "bge-small-en-v1.5";
        int docCount = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int sentenceCount = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        // each round's sentences are sent this many times: the STSB set is small, and a round of 2 s is at the
        // mercy of one scheduling hiccup on a 2-core machine
        int passes = Integer.getInteger("bench.sentence.passes", 2);
        Path data = Path.of(System.getProperty("embeddings.data", "../shared/data"));
        Path models = Path.of(System.getProperty("embeddings.test.models", "target/models"));
        List<String> docs = EncoderBench.scifact(data, docCount);
        List<String> sentences = EncoderBench.sts(data, sentenceCount);
        String int8 = model + "-int8";
        List<String> forms = List.of(model, int8);
        try (RealNode node = RealNode.start("bench-int8", RealNode.port(75))) {
            node.installModel(models, model);
            for (String form : forms) {
                String index = index(form);
                NodeWorkload.ok(node.call("PUT", "/" + index, String.format(Locale.ROOT, """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "%s"}}}}""", form)));
                NodeWorkload.ok(node.call("PUT", "/_ingest/pipeline/" + index, String.format(Locale.ROOT, """
                    {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}}]}""", form)));
                long t0 = System.nanoTime();
                embed(node, form, sentences.subList(0, 16)); // loads the model; the int8 form is built here
                System.out.printf(
                        Locale.ROOT,
                        "%s loaded in %.1f s (first call, build included)%n",
                        form,
                        (System.nanoTime() - t0) / 1e9);
                NodeWorkload.ingest(node, "/" + index + "/_bulk?pipeline=" + index, docs.subList(0, 8)); // warm-up
            }

            double[][] docSeconds = new double[2][rounds];
            double[][] sentenceSeconds = new double[2][rounds];
            double[] sentenceModelSeconds = new double[2]; // the encoder's own time (tokenize + ONNX Runtime)
            for (int r = 0; r < rounds; r++) {
                List<String> docChunk = chunk(docs, r, rounds);
                List<String> sentenceChunk = chunk(sentences, r, rounds);
                for (int k = 0; k < 2; k++) {
                    int f = (r + k) % 2; // fp32 first in even rounds, int8 first in odd ones
                    String index = index(forms.get(f));
                    long t0 = System.nanoTime();
                    NodeWorkload.ingest(node, "/" + index + "/_bulk?pipeline=" + index, docChunk);
                    docSeconds[f][r] = (System.nanoTime() - t0) / 1e9;
                }
                settle(node);
                for (int k = 0; k < 2; k++) {
                    int f = (r + k) % 2;
                    long model0 = inferenceMillis(node, forms.get(f));
                    long t0 = System.nanoTime();
                    for (int pass = 0; pass < passes; pass++) {
                        embed(node, forms.get(f), sentenceChunk);
                    }
                    sentenceSeconds[f][r] = (System.nanoTime() - t0) / 1e9;
                    sentenceModelSeconds[f] += (inferenceMillis(node, forms.get(f)) - model0) / 1e3;
                }
                System.out.printf(
                        Locale.ROOT,
                        "round %d: documents %.2fx (%.1f s fp32, %.1f s int8), sentences %.2fx (%.1f s, %.1f s)%n",
                        r + 1,
                        docSeconds[0][r] / docSeconds[1][r],
                        docSeconds[0][r],
                        docSeconds[1][r],
                        sentenceSeconds[0][r] / sentenceSeconds[1][r],
                        sentenceSeconds[0][r],
                        sentenceSeconds[1][r]);
            }
            double fp32Docs = docs.size() / sum(docSeconds[0]);
            double int8Docs = docs.size() / sum(docSeconds[1]);
            double fp32Sentences = (double) sentences.size() * passes / sum(sentenceSeconds[0]);
            double int8Sentences = (double) sentences.size() * passes / sum(sentenceSeconds[1]);
            System.out.printf(
                    Locale.ROOT,
                    "%n| %s, one run, %d rounds interleaved | fp32 | int8 | int8 / fp32 | target |%n|---|---|---|---|---|%n",
                    model,
                    rounds);
            System.out.printf(
                    Locale.ROOT,
                    "| %d SciFact documents, _bulk + embed, docs/s | %.2f | %.2f | **%.2fx** (rounds: %s) | >= 1.7x |%n",
                    docs.size(),
                    fp32Docs,
                    int8Docs,
                    int8Docs / fp32Docs,
                    ratios(docSeconds));
            System.out.printf(
                    Locale.ROOT,
                    "| %d STSB sentences x %d, embed API, texts/s | %.1f | %.1f | **%.2fx** (rounds: %s) | >= 2.2x |%n",
                    sentences.size(),
                    passes,
                    fp32Sentences,
                    int8Sentences,
                    int8Sentences / fp32Sentences,
                    ratios(sentenceSeconds));
            System.out.printf(
                    Locale.ROOT,
                    "%nSTSB sentences, where the time went (all rounds): fp32 %.1f s, of which %.1f s in the encoder; "
                            + "int8 %.1f s, of which %.1f s in the encoder. Encoder alone: int8 %.2fx fp32; the rest of "
                            + "each call (HTTP, JSON, hand-offs) %.1f s fp32, %.1f s int8%n",
                    sum(sentenceSeconds[0]),
                    sentenceModelSeconds[0],
                    sum(sentenceSeconds[1]),
                    sentenceModelSeconds[1],
                    sentenceModelSeconds[0] / sentenceModelSeconds[1],
                    sum(sentenceSeconds[0]) - sentenceModelSeconds[0],
                    sum(sentenceSeconds[1]) - sentenceModelSeconds[1]);
        }
    }

    /**
     * Refreshes the indexes and waits until no merge runs, so that the sentence phase does not share the 2 cores
     * with index maintenance left over from the documents just ingested (untimed).
     */
    private static void settle(RealNode node) throws Exception {
        NodeWorkload.ok(node.call("POST", "/_refresh", null));
        for (int i = 0; i < 600; i++) {
            JsonObject merges = onlyNode(node, "/_nodes/stats/indices/merge")
                    .getAsJsonObject("indices")
                    .getAsJsonObject("merges");
            if (merges.get("current").getAsLong() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("merges still running after 60 s");
    }

    /** The node's {@code inference_millis} for {@code model}: time inside the encoder, tokenizing and running. */
    private static long inferenceMillis(RealNode node, String model) throws Exception {
        JsonObject models = onlyNode(node, "/_plugins/_embeddings/stats").getAsJsonObject("models");
        return models.has(model)
                ? models.getAsJsonObject(model).get("inference_millis").getAsLong()
                : 0;
    }

    /** The one node's object in the per-node response of {@code GET path}. */
    private static JsonObject onlyNode(RealNode node, String path) throws Exception {
        JsonObject nodes = node.call("GET", path, null).body().getAsJsonObject().getAsJsonObject("nodes");
        return nodes.entrySet().iterator().next().getValue().getAsJsonObject();
    }

    private static String index(String form) {
        return "speed-" + form.replace('.', '_');
    }

    private static List<String> chunk(List<String> texts, int round, int rounds) {
        int size = (texts.size() + rounds - 1) / rounds;
        return texts.subList(Math.min(texts.size(), round * size), Math.min(texts.size(), (round + 1) * size));
    }

    private static void embed(RealNode node, String model, List<String> texts) throws Exception {
        for (int from = 0; from < texts.size(); from += 64) {
            JsonObject body = new JsonObject();
            body.addProperty("model", model);
            body.addProperty("role", "none");
            JsonArray array = new JsonArray();
            texts.subList(from, Math.min(texts.size(), from + 64)).forEach(array::add);
            body.add("texts", array);
            NodeWorkload.ok(node.call("POST", "/_plugins/_embeddings/embed", body.toString()));
        }
    }

    private static double sum(double[] v) {
        return Arrays.stream(v).sum();
    }

    private static String ratios(double[][] seconds) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < seconds[0].length; i++) {
            r.add(String.format(Locale.ROOT, "%.2f", seconds[0][i] / seconds[1][i]));
        }
        return String.join(", ", r);
    }
}

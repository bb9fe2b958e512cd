package org.embeddings.testkit;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A real OpenSearch node from the distribution, with the plugin zip installed, started and stopped through
 * {@code src/scripts/node.sh} (the same script the demo uses), spoken to over HTTP on loopback.
 */
public final class RealNode implements AutoCloseable {
    /**
     * How long one request may take: 5 minutes, or {@code -Dembeddings.http.timeout.minutes} for an evaluation that
     * shares the machine with a long benchmark at a lower priority.
     */
    private static final Duration TIMEOUT =
            Duration.ofMinutes(Integer.getInteger("embeddings.http.timeout.minutes", 5));

    private final Path dir;
    private final int httpPort;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** A status code and parsed JSON body. */
    public record Response(int status, JsonElement body) {
        public String text() {
            return body.toString();
        }
    }

    private RealNode(Path dir, int httpPort) {
        this.dir = dir;
        this.httpPort = httpPort;
    }

    public static RealNode start(String name, int httpPort, String... settings)
            throws IOException, InterruptedException {
        return start(name, httpPort, Map.of(), settings);
    }

    /** A node with the JVM heap options {@code heap} (for example {@code -Xms768m -Xmx768m}) instead of 1 GB. */
    public static RealNode startWithHeap(String name, int httpPort, String heap, String... settings)
            throws IOException, InterruptedException {
        return start(name, httpPort, Map.of("NODE_HEAP", heap), settings);
    }

    /**
     * A node with {@code node.sh}'s environment set by {@code environment} ({@code EMBEDDINGS_PLUGIN_ZIP} for another
     * build of the plugin, {@code NODE_HEAP}), over what this JVM's properties name.
     */
    public static RealNode start(String name, int httpPort, Map<String, String> environment, String... settings)
            throws IOException, InterruptedException {
        Path dir = workDir().resolve(name);
        List<String> command = new ArrayList<>(List.of(
                "bash",
                script().toString(),
                "start",
                dir.toString(),
                Integer.toString(httpPort),
                Integer.toString(httpPort + 100)));
        command.addAll(List.of(settings));
        run(command, environment);
        return new RealNode(dir, httpPort);
    }

    /** A node already started (by {@code cluster.sh}) in {@code dir}, answering on {@code httpPort}. */
    public static RealNode attach(Path dir, int httpPort) {
        return new RealNode(dir, httpPort);
    }

    /** Where node folders go: {@code embeddings.work.dir}, else {@code target/it-nodes}. */
    public static Path workDir() {
        return Path.of(System.getProperty("embeddings.work.dir", "target/it-nodes"))
                .toAbsolutePath();
    }

    /**
     * The HTTP port {@code offset} above the base every real-node test shares ({@code embeddings.port.base}, 19200
     * unless set), so that two checkouts can run their tests side by side on different bases. Transport ports are
     * HTTP + 100.
     */
    public static int port(int offset) {
        return Integer.getInteger("embeddings.port.base", 19200) + offset;
    }

    /** {@code src/scripts/node.sh}; {@code cluster.sh} lies beside it. */
    public static Path script() {
        return Path.of("src/scripts/node.sh").toAbsolutePath();
    }

    /** Runs a script of {@code src/scripts} as {@link #run(List, Map)} does, with nothing added to its environment. */
    public static void run(List<String> command) throws IOException, InterruptedException {
        run(command, Map.of());
    }

    /**
     * Runs a script of {@code src/scripts} with {@code environment} added, pointed at the build under test; fails with
     * its output when it exits non-zero.
     */
    public static void run(List<String> command, Map<String, String> environment)
            throws IOException, InterruptedException {
        await(spawn(command, environment), command);
    }

    /**
     * Starts a script of {@code src/scripts} as {@link #run} does, without waiting for it, so that a caller can tell
     * whether it is still running; {@link #await} waits for it.
     */
    public static Process spawn(List<String> command, Map<String, String> environment) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        // The build under test, as Failsafe names it; scripts run without these find the default build's.
        for (String[] p : new String[][] {
            {"embeddings.plugin.zip", "EMBEDDINGS_PLUGIN_ZIP"}, {"embeddings.dist.dir", "EMBEDDINGS_DIST"}
        }) {
            if (System.getProperty(p[0]) != null) {
                builder.environment().put(p[1], System.getProperty(p[0]));
            }
        }
        builder.environment().putAll(environment);
        return builder.start();
    }

    /** Waits for a script {@link #spawn} started; fails with its output when it exits non-zero. */
    public static void await(Process p, List<String> command) throws IOException, InterruptedException {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("command " + command + " failed:\n" + out);
        }
    }

    public Response call(String method, String path, String body) throws IOException, InterruptedException {
        return call(method, path, body, "application/json");
    }

    public Response call(String method, String path, String body, String contentType)
            throws IOException, InterruptedException {
        return call(method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8), contentType);
    }

    /** Sends raw bytes, for bodies that are not valid text. */
    public Response call(String method, String path, byte[] body, String contentType)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(TIMEOUT)
                .header("Content-Type", contentType);
        request.method(
                method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        String text = response.body();
        return new Response(
                response.statusCode(), text.isEmpty() ? JsonParser.parseString("{}") : JsonParser.parseString(text));
    }

    /** The raw body of a request without a body, for checks that JSON parsing would hide. */
    /** The store size of {@code index}'s primaries, in bytes, as {@code _stats/store} reports it. */
    public long storeBytes(String index) throws IOException, InterruptedException {
        return call("GET", "/" + index + "/_stats/store", null)
                .body()
                .getAsJsonObject()
                .getAsJsonObject("_all")
                .getAsJsonObject("primaries")
                .getAsJsonObject("store")
                .get("size_in_bytes")
                .getAsLong();
    }

    public String raw(String method, String path) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(TIMEOUT)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Everything the node logged so far. */
    public String log() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.list(dir.resolve("logs"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".log")).toList()) {
                sb.append(Files.readString(f));
            }
        }
        return sb.toString();
    }

    /**
     * Installs a model from {@code models/<name>} the way a user does, by copying its files into the node's
     * {@code config/embeddings/models/<name>/}; a model the plugin bundles needs nothing.
     */
    public void installModel(Path models, String name) throws IOException {
        if (Files.exists(dir.resolve("plugins/embeddings/models").resolve(name))) {
            return;
        }
        Path target =
                Files.createDirectories(dir.resolve("config/embeddings/models").resolve(name));
        for (String f : List.of("model.onnx", "tokenizer.json")) {
            Files.copy(models.resolve(name).resolve(f), target.resolve(f));
        }
    }

    /**
     * Installs a model under another name with its own {@code card.json}, the way a user installs a model the plugin
     * has no card for; {@code truncateTo} > 0 cuts its ONNX file short, as a broken copy would be.
     */
    public void installCustomModel(Path models, String from, String name, String cardJson, long truncateTo)
            throws IOException {
        Path target =
                Files.createDirectories(dir.resolve("config/embeddings/models").resolve(name));
        Files.copy(
                models.resolve(from).resolve("tokenizer.json"),
                target.resolve("tokenizer.json"),
                StandardCopyOption.REPLACE_EXISTING);
        byte[] onnx = Files.readAllBytes(models.resolve(from).resolve("model.onnx"));
        Files.write(target.resolve("model.onnx"), truncateTo > 0 ? Arrays.copyOf(onnx, (int) truncateTo) : onnx);
        Files.writeString(target.resolve("card.json"), cardJson);
    }

    /** kill -9, as a crash would. */
    public void kill() throws IOException, InterruptedException {
        run(List.of("bash", script().toString(), "kill", dir.toString()));
    }

    /** Starts the node again on its data, after {@link #kill()}. */
    public void restart() throws IOException, InterruptedException {
        run(List.of("bash", script().toString(), "restart", dir.toString(), Integer.toString(httpPort)));
    }

    public int httpPort() {
        return httpPort;
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of("bash", script().toString(), "stop", dir.toString()));
    }
}

package org.embeddings.encoder.models;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.embeddings.encoder.Encoder;
import org.embeddings.encoder.EncoderSettings;
import org.embeddings.encoder.Lane;
import org.embeddings.encoder.ModelLoadException;
import org.embeddings.encoder.ModelMemoryLimitException;
import org.embeddings.encoder.ModelUnavailableException;
import org.embeddings.encoder.Role;
import org.embeddings.encoder.SessionSettings;
import org.embeddings.encoder.TinyModelEncoderTest;
import org.embeddings.encoder.TinyOnnx;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A model's lifecycle in the registry, on the tiny hand-built model of {@link TinyModelEncoderTest}: loads run on the
 * loader, not the caller; an unload lets work in flight finish and frees the bytes after it; an unload during a load
 * cancels it; a transient failure is retried after its backoff (or at once by an explicit load) and never remembered
 * as broken; and the memory limit counts a model's external data files.
 */
public class ModelLifecycleTest {
    private static final List<String> TEXTS = List.of("the cat sat on the mat", "dog", "the dog ran far away");

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path install(Path root, String name, byte[] onnx) throws IOException {
        Path folder = Files.createDirectories(root.resolve(name));
        Files.write(folder.resolve(ModelFolders.ONNX_FILE), onnx);
        Files.writeString(folder.resolve(ModelFolders.TOKENIZER_FILE), TinyModelEncoderTest.tokenizerJson());
        Files.writeString(
                folder.resolve(ModelFolders.CARD_FILE),
                TinyModelEncoderTest.card("mean", "right", false, 32, "last_hidden_state"));
        return folder;
    }

    private static EncoderSettings settings() {
        return new EncoderSettings(new SessionSettings(1, false), 16, 3);
    }

    /** Events as a list of words, to check what the host would log. */
    private static final class Recorded implements ModelEvents {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final List<Long> retries = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void loaded(String name, long bytes, long nanos) {
            events.add("loaded " + name + " " + bytes);
        }

        @Override
        public void failed(String name, RuntimeException reason, Throwable detail, long retryInNanos) {
            events.add("failed " + name);
            retries.add(retryInNanos);
        }

        @Override
        public void unloaded(String name, long bytes) {
            events.add("unloaded " + name + " " + bytes);
        }
    }

    @Test
    public void loadsRunOnTheLoaderAndEveryCallerSharesOne() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        install(root, "tiny", TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS));
        ConcurrentLinkedQueue<Runnable> queued = new ConcurrentLinkedQueue<>();
        try (ModelRegistry registry = new ModelRegistry(
                List.of(root),
                settings(),
                Long.MAX_VALUE,
                tmp.newFolder("int8").toPath(),
                queued::add,
                ModelEvents.NONE,
                System::nanoTime)) {
            CompletableFuture<Encoder> first = registry.encoderAsync("tiny");
            CompletableFuture<Encoder> second = registry.encoderAsync("TINY");
            assertSame(first, second);
            assertFalse("the caller did no loading work", first.isDone());
            assertEquals("loading", registry.states().get("tiny").label());
            assertTrue(registry.isLoadedOrLoading("tiny"));
            assertEquals(1, queued.size());

            Thread loader = new Thread(queued.poll(), "test-loader");
            loader.start();
            loader.join(60_000);
            assertEquals(3, first.get(60, TimeUnit.SECONDS).encode(TEXTS, Role.NONE).length);
            assertEquals(List.of("tiny"), registry.loadedNames());
            assertTrue(registry.encoderAsync("tiny").isDone());
            assertTrue(queued.isEmpty());
        }
    }

    @Test
    public void anUnloadLetsWorkInFlightFinishThenFreesTheBytes() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        byte[] onnx = TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS);
        install(root, "tiny", onnx);
        Recorded events = new Recorded();
        try (ModelRegistry registry = new ModelRegistry(
                List.of(root),
                settings(),
                Long.MAX_VALUE,
                tmp.newFolder("int8").toPath(),
                Runnable::run,
                events,
                System::nanoTime)) {
            Encoder encoder = registry.encoder("tiny");
            float[][] expected = encoder.encode(TEXTS, Role.NONE);
            Encoder.Job inFlight = encoder.start(TEXTS, Role.NONE, Lane.BULK);
            assertEquals(1, encoder.leases());

            assertEquals(ModelRegistry.Unload.UNLOADED, registry.unload("tiny"));
            assertEquals(List.of(), registry.loadedNames());
            assertEquals("still mapped while work is in flight", onnx.length, registry.loadedBytes());
            assertThrows(ModelUnavailableException.class, () -> encoder.encode(TEXTS, Role.NONE));

            float[][] vectors = inFlight.finish();
            for (int i = 0; i < vectors.length; i++) {
                assertArrayEquals(expected[i], vectors[i], 0f);
            }
            assertEquals(0, encoder.leases());
            assertEquals(0, registry.loadedBytes());
            assertEquals(List.of("loaded tiny " + onnx.length, "unloaded tiny " + onnx.length), events.events);

            assertEquals(ModelRegistry.Unload.NOT_LOADED, registry.unload("tiny"));
            Encoder again = registry.encoder("tiny");
            assertNotSame(encoder, again);
            assertArrayEquals(expected[0], again.encode(TEXTS, Role.NONE)[0], 0f);
        }
    }

    @Test
    public void aJobGivenUpReleasesItsLease() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        install(root, "tiny", TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS));
        try (ModelRegistry registry = new ModelRegistry(List.of(root), settings())) {
            Encoder encoder = registry.encoder("tiny");
            Encoder.Job job = encoder.start(TEXTS, Role.NONE, Lane.BULK);
            job.step();
            job.close();
            job.close();
            assertEquals(0, encoder.leases());
            registry.unload("tiny");
            assertEquals(0, registry.loadedBytes());
        }
    }

    @Test
    public void anUnloadDuringALoadCancelsIt() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        install(root, "tiny", TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS));
        ConcurrentLinkedQueue<Runnable> queued = new ConcurrentLinkedQueue<>();
        try (ModelRegistry registry = new ModelRegistry(
                List.of(root),
                settings(),
                Long.MAX_VALUE,
                tmp.newFolder("int8").toPath(),
                queued::add,
                ModelEvents.NONE,
                System::nanoTime)) {
            CompletableFuture<Encoder> loading = registry.encoderAsync("tiny");
            assertEquals(ModelRegistry.Unload.LOAD_CANCELLED, registry.unload("tiny"));
            ExecutionException e = assertThrows(ExecutionException.class, loading::get);
            assertTrue(e.getCause() instanceof ModelUnavailableException);
            assertTrue(e.getCause().getMessage(), e.getCause().getMessage().contains("unloaded while it was loading"));
            queued.poll().run(); // the load runs to its end and closes what it built
            assertEquals(List.of(), registry.loadedNames());
            assertTrue(registry.states().isEmpty());
            assertEquals(0, registry.loadedBytes());
        }
    }

    @Test
    public void aTransientFailureIsRetriedAfterItsBackoffNotRememberedAsBroken() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        install(root, "tiny", TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS));
        // the int8 directory cannot be created: an I/O error of the node, not of the model's files
        Path int8Dir = tmp.newFile("int8-is-a-file").toPath();
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        AtomicInteger loads = new AtomicInteger();
        Recorded events = new Recorded();
        try (ModelRegistry registry = new ModelRegistry(
                List.of(root),
                settings(),
                Long.MAX_VALUE,
                int8Dir,
                r -> {
                    loads.incrementAndGet();
                    r.run();
                },
                events,
                clock::get)) {
            ModelUnavailableException first =
                    assertThrows(ModelUnavailableException.class, () -> registry.encoder("tiny-int8"));
            assertTrue(
                    first.getMessage(), first.getMessage().contains("cannot build the int8 form of model [tiny-int8]"));
            assertTrue(first.getMessage(), first.getMessage().contains("I/O error"));
            assertFalse(first.getMessage(), first.getMessage().contains(int8Dir.toString()));
            assertFalse(
                    first.getMessage(),
                    first.getMessage().contains(tmp.getRoot().toString()));
            assertEquals("backoff", registry.states().get("tiny-int8").label());
            assertEquals(1, loads.get());

            // within the backoff: answered at once, no load
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
            assertSame(first, assertThrows(ModelUnavailableException.class, () -> registry.encoder("tiny-int8")));
            assertEquals(1, loads.get());
            // past it: loaded again, with twice the backoff after another failure
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
            assertThrows(ModelUnavailableException.class, () -> registry.encoder("tiny-int8"));
            assertEquals(2, loads.get());
            // an operator's load does not wait for the backoff
            assertThrows(
                    ExecutionException.class, () -> registry.load("tiny-int8").get());
            assertEquals(3, loads.get());
            assertEquals(
                    List.of(TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(2), TimeUnit.SECONDS.toNanos(4)),
                    events.retries);
            assertEquals(0, registry.loadedBytes());

            // the fp32 model itself was never at fault
            assertEquals(3, registry.encoder("tiny").encode(TEXTS, Role.NONE).length);
        }
    }

    @Test
    public void theBackoffDoublesUpToFiveMinutes() {
        assertEquals(TimeUnit.SECONDS.toNanos(1), ModelRegistry.backoffNanos(1));
        assertEquals(TimeUnit.SECONDS.toNanos(8), ModelRegistry.backoffNanos(4));
        assertEquals(TimeUnit.MINUTES.toNanos(5), ModelRegistry.backoffNanos(12));
        assertEquals(TimeUnit.MINUTES.toNanos(5), ModelRegistry.backoffNanos(1000));
    }

    @Test
    public void theMemoryLimitCountsExternalDataFiles() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        byte[] inline = TinyModelEncoderTest.tokenModel(TinyModelEncoderTest.BERT_INPUTS);
        install(root, "tiny", inline);
        byte[] graph = TinyOnnx.modelWithExternalEmbeddings(
                TinyModelEncoderTest.E, TinyModelEncoderTest.BERT_INPUTS, "last_hidden_state", "model.onnx_data");
        byte[] data = TinyOnnx.rawData(TinyModelEncoderTest.E);
        Path folder = install(root, "tiny-external", graph);
        Files.write(folder.resolve("model.onnx_data"), data);

        assertEquals(
                List.of(folder.resolve(ModelFolders.ONNX_FILE), folder.resolve("model.onnx_data")),
                ModelFiles.mapped(folder.resolve(ModelFolders.ONNX_FILE)));
        assertEquals(
                List.of(), ModelFiles.externalLocations(root.resolve("tiny").resolve(ModelFolders.ONNX_FILE)));
        long both = graph.length + data.length;
        assertEquals(both, ModelFiles.bytes(folder.resolve(ModelFolders.ONNX_FILE)));

        try (ModelRegistry limited = new ModelRegistry(List.of(root), settings(), both - 1)) {
            ModelMemoryLimitException e =
                    assertThrows(ModelMemoryLimitException.class, () -> limited.encoder("tiny-external"));
            assertTrue(e.getMessage(), e.getMessage().contains("(" + both + " bytes)"));
            assertEquals(0, limited.loadedBytes());
        }
        try (ModelRegistry registry = new ModelRegistry(List.of(root), settings(), both)) {
            float[][] external = registry.encoder("tiny-external").encode(TEXTS, Role.NONE);
            assertEquals(both, registry.loadedBytes("tiny-external"));
            registry.unload("tiny-external");
            float[][] expected = registry.encoder("tiny").encode(TEXTS, Role.NONE);
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals("ONNX Runtime read the external data", expected[i], external[i], 0f);
            }
        }
    }

    @Test
    public void externalDataOutsideTheModelsFolderOrMissingIsABrokenModelNamingIt() throws Exception {
        Path root = tmp.newFolder("models").toPath();
        byte[] escaping = TinyOnnx.modelWithExternalEmbeddings(
                TinyModelEncoderTest.E, TinyModelEncoderTest.BERT_INPUTS, "last_hidden_state", "../secret.bin");
        install(root, "tiny-escaping", escaping);
        byte[] missing = TinyOnnx.modelWithExternalEmbeddings(
                TinyModelEncoderTest.E, TinyModelEncoderTest.BERT_INPUTS, "last_hidden_state", "gone.bin");
        install(root, "tiny-missing", missing);
        try (ModelRegistry registry = new ModelRegistry(List.of(root), settings())) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-escaping"));
            assertTrue(e.getMessage(), e.getMessage().contains("outside its folder: [../secret.bin]"));
            e = assertThrows(ModelLoadException.class, () -> registry.encoder("tiny-missing"));
            assertTrue(e.getMessage(), e.getMessage().contains("[gone.bin], which is missing"));
            assertFalse(e.getMessage(), e.getMessage().contains(root.toString()));
            assertEquals("failed", registry.states().get("tiny-missing").label());
        }
    }
}

package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * The order in which a model's native thread runs work: queries before waiting documents, but never more than the
 * burst of queries in a row while documents wait, so that a constant stream of queries cannot starve documents; a
 * closed thread runs what was queued and refuses the rest.
 */
public class NativeThreadTest {
    /** Queues {@code lane} work from its own thread and waits until the native thread holds one more waiting task. */
    private static Thread submit(NativeThread thread, Lane lane, String label, List<String> ran) throws Exception {
        int before = thread.waiting();
        Thread t = new Thread(() -> thread.call(lane, () -> ran.add(label)));
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (thread.waiting() == before) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("task " + label + " was never queued");
            }
            Thread.sleep(1);
        }
        return t;
    }

    @Test
    public void documentsRunAfterAtMostTheBurstOfQueries() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        try (NativeThread thread = new NativeThread("order", 2)) {
            CountDownLatch gate = new CountDownLatch(1);
            Thread blocker = new Thread(() -> thread.call(Lane.INTERACTIVE, () -> {
                gate.await();
                return null;
            }));
            blocker.start();
            while (thread.waiting() != 0 || blocker.getState() == Thread.State.NEW) {
                Thread.sleep(1);
            }
            Thread.sleep(50); // the blocker's task is running, holding the native thread
            List<Thread> submitted = new ArrayList<>();
            submitted.add(submit(thread, Lane.BULK, "document", ran));
            for (int i = 1; i <= 6; i++) {
                submitted.add(submit(thread, Lane.INTERACTIVE, "query" + i, ran));
            }
            gate.countDown();
            for (Thread t : submitted) {
                t.join(30_000);
            }
            blocker.join(30_000);
        }
        // two queries (the burst), then the waiting document, then the remaining queries
        assertEquals(List.of("query1", "query2", "document", "query3", "query4", "query5", "query6"), ran);
    }

    @Test
    public void withoutDocumentsQueriesRunInArrivalOrder() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        try (NativeThread thread = new NativeThread("queries", 1)) {
            CountDownLatch gate = new CountDownLatch(1);
            Thread blocker = new Thread(() -> thread.call(Lane.BULK, () -> {
                gate.await();
                return null;
            }));
            blocker.start();
            while (thread.waiting() != 0 || blocker.getState() == Thread.State.NEW) {
                Thread.sleep(1);
            }
            Thread.sleep(50);
            List<Thread> submitted = new ArrayList<>();
            for (int i = 1; i <= 4; i++) {
                submitted.add(submit(thread, Lane.INTERACTIVE, "query" + i, ran));
            }
            submitted.add(submit(thread, Lane.BULK, "document", ran));
            gate.countDown();
            for (Thread t : submitted) {
                t.join(30_000);
            }
        }
        assertEquals(List.of("query1", "document", "query2", "query3", "query4"), ran);
    }

    @Test
    public void aClosedThreadRefusesNewWork() {
        NativeThread thread = new NativeThread("closing");
        assertEquals(Integer.valueOf(3), thread.call(() -> 3));
        thread.close();
        assertThrows(ModelUnavailableException.class, () -> thread.call(() -> 4));
    }
}

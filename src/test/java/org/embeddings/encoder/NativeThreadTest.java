package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * The order in which a model's native thread runs work: queries before waiting documents, but never more than the
 * burst of queries in a row while documents wait, so that a constant stream of queries cannot starve documents; a
 * closed thread runs what was queued and refuses the rest; several workers run tasks at once, except an exclusive
 * task, which runs alone.
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

    @Test
    public void workersRunTasksAtOnce() throws Exception {
        try (NativeThread thread = new NativeThread("workers", 1, 2)) {
            CyclicBarrier both = new CyclicBarrier(2);
            // each task finishes only once the other has started: with one worker the barrier times out
            Callable<Integer> meet = () -> both.await(30, TimeUnit.SECONDS);
            List<Thread> callers = new ArrayList<>();
            List<Integer> arrivals = Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 2; i++) {
                Thread t = new Thread(() -> arrivals.add(thread.call(Lane.BULK, meet)));
                t.start();
                callers.add(t);
            }
            for (Thread t : callers) {
                t.join(60_000);
            }
            assertEquals(List.of(0, 1), arrivals.stream().sorted().toList());
            assertEquals(2, thread.mostAtOnce());
        }
    }

    @Test
    public void anExclusiveTaskWaitsForRunningTasksAndRunsAlone() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        try (NativeThread thread = new NativeThread("exclusive", 1, 2)) {
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            Thread running = new Thread(() -> thread.call(Lane.BULK, () -> {
                started.countDown();
                gate.await();
                return ran.add("running");
            }));
            running.start();
            started.await(30, TimeUnit.SECONDS);
            Thread closer = new Thread(() -> thread.callExclusive(() -> ran.add("exclusive")));
            closer.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (thread.waiting() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            // a second worker is idle, yet neither the exclusive task nor one queued after it may start
            Thread later = submit(thread, Lane.INTERACTIVE, "later", ran);
            Thread.sleep(100);
            assertEquals(List.of(), ran);
            gate.countDown();
            for (Thread t : List.of(running, closer, later)) {
                t.join(30_000);
            }
        }
        assertEquals(List.of("running", "exclusive", "later"), ran);
    }

    @Test
    public void anExclusiveTaskCalledFromATaskWaitsForTheOtherWorkers() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        try (NativeThread thread = new NativeThread("exclusive-in-place", 1, 2)) {
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            Thread running = new Thread(() -> thread.call(Lane.BULK, () -> {
                started.countDown();
                gate.await();
                return ran.add("running");
            }));
            running.start();
            started.await(30, TimeUnit.SECONDS);
            // a task on the second worker closes something in place, as a released lease closes a retired model
            Thread closing =
                    new Thread(() -> thread.call(Lane.BULK, () -> thread.callExclusive(() -> ran.add("exclusive"))));
            closing.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (thread.mostAtOnce() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            Thread.sleep(100);
            assertEquals("the exclusive task waits for the running one", List.of(), ran);
            gate.countDown();
            for (Thread t : List.of(running, closing)) {
                t.join(30_000);
            }
        }
        assertEquals(List.of("running", "exclusive"), ran);
    }
}

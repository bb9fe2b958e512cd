package org.embeddings.testkit;

import java.util.Locale;

/**
 * A progress bar on stderr for long client loops (ingest, queries): one line, redrawn in place after a carriage
 * return, with the count done and the rate since the start. Stderr, so that the figures a run prints on stdout stay
 * clean; the caller ends the line when its loop is done.
 */
public final class Progress {
    private Progress() {}

    private static final int WIDTH = 40;

    public static void print(String what, int done, int total, long startNanos) {
        int filled = (int) ((long) WIDTH * done / total);
        double rate = done / ((System.nanoTime() - startNanos) / 1e9);
        System.err.printf(
                Locale.ROOT,
                "\r%-8s [%s%s] %d/%d  %.1f/s",
                what,
                "=".repeat(filled),
                " ".repeat(WIDTH - filled),
                done,
                total,
                rate);
    }
}

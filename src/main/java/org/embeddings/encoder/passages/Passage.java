package org.embeddings.encoder.passages;

/** One passage of a text: its UTF-16 character span {@code [start, end)} in the text, and its vector. */
public record Passage(int start, int end, float[] vector) {}

package org.embeddings.encoder.passages;

import java.util.List;
import java.util.function.IntUnaryOperator;
import org.embeddings.encoder.InvalidInputException;

/**
 * Where a text's passage windows may end: the unit a passage is made of.
 *
 * <ul>
 *   <li>{@link ByTokens} ({@code tokens}): windows of tokens that end on the text's structure where it has some in
 *       their last part (a paragraph break, else a sentence end, else a word boundary), overlapping by tokens
 *       ({@link TextWindows});
 *   <li>{@link BySentences} ({@code sentences}): whole sentences packed into a window, the last
 *       {@code overlapSentences} of a window repeated at the start of the next ({@link UnitPacker} over
 *       {@link TextUnits#sentences});
 *   <li>{@link ByDelimiter} ({@code delimiter}): the pieces between occurrences of a separator packed into a window,
 *       without overlap ({@link UnitPacker} over {@link TextUnits#delimited}).
 * </ul>
 *
 * <p>Every strategy cuts in the model's own tokens and gives windows of at most the budget: a sentence or a piece
 * longer than a window is cut into token windows inside it. Windows are token ranges; their character spans follow
 * from the tokens' spans, so every strategy keeps the same guarantees (see {@link PassageCutter}).
 */
public sealed interface ChunkingStrategy {
    String TOKENS = "tokens", SENTENCES = "sentences", DELIMITER = "delimiter";

    /** The name users give in {@code chunking.strategy}. */
    String label();

    /**
     * Cuts {@code text}, whose tokens span {@code [starts[i], ends[i])} in order, into windows of at most
     * {@code budget} tokens, a window starting at token {@code pos} at most {@code room(pos)};
     * {@code overlapTokens} is the most tokens two token windows share.
     */
    List<TextWindows.Window> cut(
            String text,
            int[] starts,
            int[] ends,
            int budget,
            IntUnaryOperator room,
            int overlapTokens,
            TextWindows.Ends where);

    /** Token windows on the text's structure, the strategy before the others existed. */
    record ByTokens() implements ChunkingStrategy {
        @Override
        public String label() {
            return TOKENS;
        }

        @Override
        public List<TextWindows.Window> cut(
                String text,
                int[] starts,
                int[] ends,
                int budget,
                IntUnaryOperator room,
                int overlapTokens,
                TextWindows.Ends where) {
            return new TextWindows(budget, overlapTokens, where).cut(text, starts, ends, room);
        }
    }

    /** Whole sentences packed into windows, {@code overlapSentences} of them shared by consecutive windows. */
    record BySentences(int overlapSentences) implements ChunkingStrategy {
        public static final int DEFAULT_OVERLAP_SENTENCES = 1;

        public BySentences {
            if (overlapSentences < 0) {
                throw new InvalidInputException(
                        "[overlap_sentences] must be at least 0, got [" + overlapSentences + "]");
            }
        }

        @Override
        public String label() {
            return SENTENCES;
        }

        @Override
        public List<TextWindows.Window> cut(
                String text,
                int[] starts,
                int[] ends,
                int budget,
                IntUnaryOperator room,
                int overlapTokens,
                TextWindows.Ends where) {
            return new UnitPacker(budget, overlapSentences, where.paragraph(), overlapTokens, where)
                    .cut(text, starts, ends, TextUnits.sentences(text), room);
        }
    }

    /** The pieces of a text between occurrences of {@code delimiter}, packed into windows. */
    record ByDelimiter(String delimiter) implements ChunkingStrategy {
        public static final String DEFAULT_DELIMITER = "\n\n";

        public ByDelimiter {
            if (delimiter == null || delimiter.isEmpty()) {
                throw new InvalidInputException("[delimiter] must be a non-empty string, got [" + delimiter + "]");
            }
        }

        @Override
        public String label() {
            return DELIMITER;
        }

        @Override
        public List<TextWindows.Window> cut(
                String text,
                int[] starts,
                int[] ends,
                int budget,
                IntUnaryOperator room,
                int overlapTokens,
                TextWindows.Ends where) {
            // the delimiter is the structure: no paragraph preference, no overlap between pieces
            return new UnitPacker(budget, 0, 0f, overlapTokens, where)
                    .cut(text, starts, ends, TextUnits.delimited(text, delimiter), room);
        }
    }
}

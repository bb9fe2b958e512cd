package org.embeddings.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Texts for tests that need many different ones: every length from one word to about 300, from a fixed seed. */
public final class TestTexts {
    private TestTexts() {}

    private static final String[] WORDS = ("the of and to in is was for on that with as by at from protein cell cells "
                    + "gene study patients cancer risk increased reduced treatment mice expression human clinical results "
                    + "association significant levels blood brain disease infection virus immune response receptor "
                    + "pathway 2019 3.5 % ( ) , . ; : - mitochondrial phosphorylation glycosylated überraschend naïve "
                    + "café Zürich 東京 données vitamin D3 p53 IL-6 TNF-α CRISPR/Cas9 why how what")
            .split(" ");

    /**
     * {@code count} texts of one to about 300 words (lengths spread log-uniformly, so short texts are as common as
     * long ones), from a vocabulary of common and rare words, numbers, punctuation and non-ASCII letters.
     */
    public static List<String> varied(int count, long seed) {
        Random random = new Random(seed);
        List<String> texts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = 1 + (int) Math.min(300, Math.exp(random.nextDouble() * Math.log(300)));
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < length; w++) {
                text.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            }
            texts.add(text.toString());
        }
        return texts;
    }

    private static final String[] ARTICLE_WORDS =
            ("cells protein expression mice patients cohort receptor signaling pathway tumor growth "
                            + "inhibition response treatment trial dose levels analysis significant increase reduced associated risk factor "
                            + "disease model human clinical data results study gene mutation binding activity function")
                    .split(" ");

    /** Paragraphs of sentences of varied length, separated by blank lines, as a long article has. */
    public static String article(long seed, int paragraphs, int minSentences, int maxSentences) {
        Random random = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < paragraphs; p++) {
            if (p > 0) {
                sb.append("\n\n");
            }
            int sentences = minSentences + random.nextInt(maxSentences - minSentences + 1);
            for (int s = 0; s < sentences; s++) {
                if (s > 0) {
                    sb.append(' ');
                }
                int words = 6 + random.nextInt(25);
                for (int w = 0; w < words; w++) {
                    String word = ARTICLE_WORDS[random.nextInt(ARTICLE_WORDS.length)];
                    sb.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                    sb.append(w == words - 1 ? "" : random.nextInt(9) == 0 ? ", " : " ");
                }
                sb.append(random.nextInt(7) == 0 ? "?" : ".");
            }
        }
        return sb.toString();
    }
}

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
}

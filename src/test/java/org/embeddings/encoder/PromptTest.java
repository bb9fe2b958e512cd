package org.embeddings.encoder;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class PromptTest {
    private static final String TEXT = "how do tides work";

    @Test
    public void prefixesEachRoleWithItsOwnPart() {
        Prompt prompt = new Prompt("query: ", "passage: ", "none: ");
        assertEquals("query: " + TEXT, prompt.apply(Role.QUERY, TEXT));
        assertEquals("passage: " + TEXT, prompt.apply(Role.PASSAGE, TEXT));
        assertEquals("none: " + TEXT, prompt.apply(Role.NONE, TEXT));
    }

    @Test
    public void fillsTheTextSlotOfATemplateForEachRole() {
        Prompt prompt = new Prompt("Instruct: find\nQuery:{text}", "<doc>{text}</doc>", "[{text}] again");
        assertEquals("Instruct: find\nQuery:" + TEXT, prompt.apply(Role.QUERY, TEXT));
        assertEquals("<doc>" + TEXT + "</doc>", prompt.apply(Role.PASSAGE, TEXT));
        assertEquals("[" + TEXT + "] again", prompt.apply(Role.NONE, TEXT));
    }

    @Test
    public void anEmptyOrMissingPartLeavesTheTextAsItIs() {
        Prompt prompt = new Prompt("q: ", null, "");
        assertEquals(TEXT, prompt.apply(Role.PASSAGE, TEXT));
        assertEquals(TEXT, prompt.apply(Role.NONE, TEXT));
        for (Role role : Role.values()) {
            assertEquals(TEXT, new Prompt("", "", "").apply(role, TEXT));
        }
    }

    @Test
    public void theTextIsNotReadAsATemplate() {
        assertEquals("q: a {text} b", new Prompt("q: ", "", "").apply(Role.QUERY, "a {text} b"));
        assertEquals("<a {text} b>", new Prompt("<{text}>", "", "").apply(Role.QUERY, "a {text} b"));
    }
}

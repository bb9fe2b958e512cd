package org.embeddings;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.Test;

/**
 * The floors of the source tree, read from the sources as text, so that a change that breaks one fails the build
 * instead of waiting for someone to draw the tree:
 * <ul>
 *   <li>the encoder imports nothing of Lucene's or OpenSearch's package of this plugin, and the lucene package
 *       nothing of the plugin at all;
 *   <li>inside the encoder, the rooms (each file of the root package, and each sub-package as a whole) form no cycle:
 *       a sub-package never needs a root file that needs the sub-package back;
 *   <li>in the tests, bench, eval and it never import one another; they share the testkit, which imports none of
 *       them;
 *   <li>docs/architecture.md names every class of the main code.
 * </ul>
 * A reference counts when it is an import, a fully qualified name, or (within one package) a class's simple name
 * outside comments and strings.
 */
public class HouseRulesTest {
    private static final Path MAIN = Path.of("src/main/java");
    private static final Path TEST = Path.of("src/test/java");
    private static final String ROOT = "org.embeddings";
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    /** An identifier that no dot or word character precedes: a name used unqualified. */
    private static final Pattern BARE_NAME = Pattern.compile("(?<![\\w.])[A-Za-z_$][\\w$]*");

    private static final Pattern IMPORT =
            Pattern.compile("^import (?:static )?(org\\.embeddings\\.[\\w.]+);", Pattern.MULTILINE);

    /**
     * One source file: its package, simple name, its code without imports, comments and string literals, and the
     * names that code uses unqualified (each a candidate reference to a class of its own package).
     */
    private record Source(Path path, String pkg, String name, String text, String code, Set<String> bareNames) {
        String fqn() {
            return pkg + "." + name;
        }
    }

    @Test
    public void encoderAndLuceneImportNothingAboveThem() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Source s : sources(MAIN)) {
            for (String target : references(s, classes(MAIN))) {
                if (s.pkg().startsWith(ROOT + ".encoder") && target.startsWith(ROOT + ".encoder") == false) {
                    wrong.add(s.fqn() + " -> " + target);
                }
                if (s.pkg().equals(ROOT + ".lucene") && target.startsWith(ROOT + ".lucene") == false) {
                    wrong.add(s.fqn() + " -> " + target);
                }
            }
        }
        assertEquals("imports that run back up", List.of(), wrong);
    }

    @Test
    public void encoderRoomsFormNoCycle() throws IOException {
        Map<String, Source> classes = classes(MAIN);
        Map<String, Set<String>> edges = new TreeMap<>();
        for (Source s : classes.values()) {
            if (s.pkg().startsWith(ROOT + ".encoder") == false) {
                continue;
            }
            String from = room(s);
            for (String target : references(s, classes)) {
                String to = room(classes.get(target));
                if (to.equals(from) == false) {
                    edges.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
                }
            }
        }
        assertTrue("the encoder has rooms to check", edges.keySet().stream().anyMatch(r -> r.endsWith("/")));
        assertEquals("cycles between the encoder's rooms", List.of(), cycles(edges));
    }

    @Test
    public void benchEvalAndItShareTheTestkitNotEachOther() throws IOException {
        Map<String, Source> all = new HashMap<>(classes(MAIN));
        all.putAll(classes(TEST));
        Set<String> apart = Set.of("bench", "eval", "it", "testkit");
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (Source s : sources(TEST)) {
            String area = area(s.pkg());
            if (apart.contains(area) == false) {
                continue;
            }
            checked++;
            for (String target : references(s, all)) {
                String other = area(all.get(target).pkg());
                boolean allowed = other.equals(area) || apart.contains(other) == false || other.equals("testkit");
                if (allowed == false) {
                    wrong.add(s.fqn() + " -> " + target);
                }
            }
        }
        assertTrue("bench, eval and it sources were read", checked > 20);
        assertEquals("test areas that import each other", List.of(), wrong);
    }

    @Test
    public void architectureNamesEveryClass() throws IOException {
        String doc = Files.readString(Path.of("docs/architecture.md"), StandardCharsets.UTF_8);
        List<String> missing = new ArrayList<>();
        for (Source s : sources(MAIN)) {
            if (Pattern.compile("\\b" + s.name() + "\\b").matcher(doc).find() == false) {
                missing.add(s.fqn());
            }
        }
        assertEquals("classes docs/architecture.md does not name", List.of(), missing);
    }

    /** A file of the encoder's root package is a room of its own; a sub-package is one room. */
    private static String room(Source s) {
        String rest = s.pkg().substring((ROOT + ".encoder").length());
        return rest.isEmpty() ? s.name() : rest.substring(1).split("\\.")[0] + "/";
    }

    /** The first package segment under org.embeddings: encoder, lucene, opensearch, bench, eval, it, testkit... */
    private static String area(String pkg) {
        String rest = pkg.length() > ROOT.length() ? pkg.substring(ROOT.length() + 1) : "";
        return rest.split("\\.")[0];
    }

    /** The classes of {@code known} that {@code s} refers to: by import, by full name, or by simple name in its own package. */
    private static Set<String> references(Source s, Map<String, Source> known) {
        Set<String> out = new TreeSet<>();
        Matcher imports = IMPORT.matcher(s.text());
        while (imports.find()) {
            String target = outermost(imports.group(1), known);
            if (target != null) {
                out.add(target);
            }
        }
        for (Source other : known.values()) {
            if (other == s || other.fqn().equals(s.fqn())) {
                continue;
            }
            String code = s.code();
            if (code.contains(other.fqn() + ".")
                    || code.contains(other.fqn() + ";")
                    || code.contains(other.fqn() + " ")) {
                out.add(other.fqn());
            } else if (other.pkg().equals(s.pkg()) && s.bareNames().contains(other.name())) {
                out.add(other.fqn());
            }
        }
        return out;
    }

    /** The class an import names: the import itself, or the class whose member or nested type it names. */
    private static String outermost(String imported, Map<String, Source> known) {
        String name = imported;
        while (name.contains(".")) {
            if (known.containsKey(name)) {
                return name;
            }
            name = name.substring(0, name.lastIndexOf('.'));
        }
        return null;
    }

    /** Every strongly connected set of more than one room, by Tarjan's algorithm. */
    private static List<Set<String>> cycles(Map<String, Set<String>> edges) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<Set<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : new TreeSet<>(edges.keySet())) {
            if (index.containsKey(v) == false) {
                strongConnect(v, edges, index, low, stack, onStack, out, counter);
            }
        }
        return out;
    }

    private static void strongConnect(
            String v,
            Map<String, Set<String>> edges,
            Map<String, Integer> index,
            Map<String, Integer> low,
            Deque<String> stack,
            Set<String> onStack,
            List<Set<String>> out,
            int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : edges.getOrDefault(v, Set.of())) {
            if (index.containsKey(w) == false) {
                strongConnect(w, edges, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (w.equals(v) == false);
            if (component.size() > 1) {
                out.add(component);
            }
        }
    }

    private static Map<String, Source> classes(Path root) throws IOException {
        Map<String, Source> out = new LinkedHashMap<>();
        for (Source s : sources(root)) {
            out.put(s.fqn(), s);
        }
        return out;
    }

    private static List<Source> sources(Path root) throws IOException {
        assertTrue("run from the project root: " + root.toAbsolutePath(), Files.isDirectory(root));
        List<Source> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>)
                    files.filter(f -> f.toString().endsWith(".java")).sorted()::iterator) {
                String text = Files.readString(p, StandardCharsets.UTF_8);
                Matcher pkg = PACKAGE.matcher(text);
                assertTrue(p + " has a package", pkg.find());
                String name = p.getFileName().toString().replace(".java", "");
                String code = code(text);
                Set<String> bare = new TreeSet<>();
                Matcher names = BARE_NAME.matcher(code);
                while (names.find()) {
                    bare.add(names.group());
                }
                out.add(new Source(p, pkg.group(1), name, text, code, bare));
            }
        }
        return out;
    }

    /** {@code text} without comments, text blocks, string literals and import lines. */
    private static String code(String text) {
        return text.replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("//[^\\n]*", " ")
                .replaceAll("(?s)\"\"\".*?\"\"\"", "\"\"")
                .replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"")
                .replaceAll("(?m)^import [^;]+;", "");
    }
}

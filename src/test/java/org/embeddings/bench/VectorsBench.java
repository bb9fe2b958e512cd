package org.embeddings.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.embeddings.testkit.VectorLayout;
import org.embeddings.testkit.VectorsEncode;

/** Entry point of {@code bench.sh vectors ...}. */
public final class VectorsBench {
    private VectorsBench() {}

    public static void main(String[] args) throws Exception {
        String what = args.length > 0 ? args[0] : "";
        switch (what) {
            case "scifact" ->
                VectorsSciFact.run(
                        args.length > 1 ? Integer.parseInt(args[1]) : 3,
                        List.of((args.length > 2 ? args[2] : "0,1,2,3,5,8").split(",")),
                        Path.of(System.getProperty("embeddings.data", "../shared/data"))
                                .resolve("scifact"));
            case "million" ->
                VectorsMillion.run(
                        args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000,
                        List.of((args.length > 2
                                        ? args[2]
                                        : VectorLayout.formats().stream()
                                                .map(VectorLayout::label)
                                                .collect(Collectors.joining(",")))
                                .split(",")));
            case "encode" ->
                VectorsEncode.run(
                        args.length > 1 ? args[1] : "bge-small-en-v1.5",
                        Path.of(args.length > 2 ? args[2] : "../shared/data/scifact"));
            default -> throw new IllegalArgumentException("usage: bench.sh vectors encode|scifact|million ...");
        }
    }
}

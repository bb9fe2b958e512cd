package org.embeddings.bench;

import java.nio.file.Path;

/** Entry point of {@code bench.sh vectors ...}. */
public final class VectorsBench {
    private VectorsBench() {}

    public static void main(String[] args) throws Exception {
        String what = args.length > 0 ? args[0] : "";
        switch (what) {
            case "encode" -> VectorsEncode.run(args.length > 1 ? args[1] : "bge-small-en-v1.5", Path.of(args.length > 2 ? args[2] : "../shared/data/scifact"));
            default -> throw new IllegalArgumentException("usage: bench.sh vectors encode|scifact|million ...");
        }
    }
}

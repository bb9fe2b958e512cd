package org.embeddings.testkit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Vectors saved once ({@link VectorsEncode}) and read by every benchmark and evaluation run: a count, the dims, then
 * per vector its id (modified UTF-8) and its floats, big-endian. Written to a temporary file and moved into place, so
 * a file that exists is complete.
 */
public record VectorFile(List<String> ids, float[][] vectors) {
    public int size() {
        return ids.size();
    }

    public int dims() {
        return vectors.length == 0 ? 0 : vectors[0].length;
    }

    /** Writes the file at {@code path} (its folders made), complete or not at all. */
    public void write(Path path) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (DataOutputStream out =
                new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
            out.writeInt(ids.size());
            out.writeInt(dims());
            for (int i = 0; i < ids.size(); i++) {
                out.writeUTF(ids.get(i));
                for (float f : vectors[i]) {
                    out.writeFloat(f);
                }
            }
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Bulk-indexes the vectors as they are into field {@code vec} of an existing {@code index}, ids as document ids,
     * 500 a request, then refreshes. Any failed request or item is an exception.
     */
    public void indexInto(RealNode node, String index) throws IOException, InterruptedException {
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < size(); i++) {
            bulk.append("{\"index\":{\"_id\":\"")
                    .append(ids.get(i))
                    .append("\"}}\n{\"vec\":")
                    .append(Arrays.toString(vectors[i]))
                    .append("}\n");
            if ((i + 1) % 500 == 0 || i + 1 == size()) {
                RealNode.Response r =
                        node.call("POST", "/" + index + "/_bulk", bulk.toString(), "application/x-ndjson");
                check(r);
                if (r.body().getAsJsonObject().get("errors").getAsBoolean()) {
                    throw new IllegalStateException(
                            r.text().substring(0, Math.min(1000, r.text().length())));
                }
                bulk.setLength(0);
            }
        }
        check(node.call("POST", "/" + index + "/_refresh", null));
    }

    private static void check(RealNode.Response r) {
        if (r.status() >= 300) {
            throw new IllegalStateException(r.status() + " "
                    + r.text().substring(0, Math.min(2000, r.text().length())));
        }
    }

    public static VectorFile read(Path path) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(path), 1 << 20))) {
            int n = in.readInt();
            int dims = in.readInt();
            List<String> ids = new ArrayList<>(n);
            float[][] vectors = new float[n][dims];
            for (int i = 0; i < n; i++) {
                ids.add(in.readUTF());
                for (int d = 0; d < dims; d++) {
                    vectors[i][d] = in.readFloat();
                }
            }
            return new VectorFile(ids, vectors);
        }
    }
}

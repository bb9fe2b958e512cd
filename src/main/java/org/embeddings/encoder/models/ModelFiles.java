package org.embeddings.encoder.models;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.embeddings.encoder.ModelLoadException;

/**
 * The files an ONNX model maps when ONNX Runtime loads it: the {@code .onnx} file itself and every external data file
 * its graph's initializers name (large models keep their weights in {@code model.onnx_data} or in one file per
 * tensor, beside the graph). Their bytes are what a loaded model holds in native memory, so they are what
 * {@code max_loaded_bytes} counts.
 *
 * <p>Algorithm: one streaming pass over the protobuf, reading only {@code ModelProto.graph} (field 7),
 * {@code GraphProto.initializer} (field 5) and each initializer's {@code external_data} entries (field 13, key
 * {@code location}); every other field, the weights' {@code raw_data} above all, is skipped without being read, so a
 * 100 MB graph costs a few kilobytes of heap. External data named by nodes' attributes (a {@code Constant}'s tensor)
 * or by subgraphs is not looked for. A location that leaves the model's folder is refused, as ONNX Runtime refuses it.
 */
public final class ModelFiles {
    private static final int MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_EXTERNAL_DATA = 13;
    private static final int ENTRY_KEY = 1, ENTRY_VALUE = 2;

    private ModelFiles() {}

    /** The model file and the external data files it names, each once, in the order first named. */
    public static List<Path> mapped(Path onnx) {
        Path folder = onnx.toAbsolutePath().getParent();
        Set<Path> files = new LinkedHashSet<>();
        files.add(onnx);
        for (String location : externalLocations(onnx)) {
            Path file = folder.resolve(location).normalize();
            if (file.startsWith(folder) == false) {
                throw new ModelLoadException("model file " + onnx.getFileName()
                        + " names external data outside its folder: [" + location + "]");
            }
            files.add(file);
        }
        return new ArrayList<>(files);
    }

    /** The bytes of every file {@link #mapped} lists; a missing external data file is an error naming it. */
    public static long bytes(Path onnx) {
        long total = 0;
        for (Path file : mapped(onnx)) {
            try {
                total += Files.size(file);
            } catch (IOException e) {
                String name = onnx.toAbsolutePath()
                        .getParent()
                        .relativize(file.toAbsolutePath())
                        .toString();
                if (Files.exists(file) == false) {
                    throw new ModelLoadException(
                            "model file " + onnx.getFileName() + " names external data [" + name
                                    + "], which is missing",
                            e);
                }
                throw new UncheckedIOException(e);
            }
        }
        return total;
    }

    /** The {@code location} of each externally stored initializer, as written in the graph. */
    static List<String> externalLocations(Path onnx) {
        List<String> locations = new ArrayList<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(onnx), 1 << 16)) {
            CodedInputStream model = CodedInputStream.newInstance(in);
            model.setSizeLimit(Integer.MAX_VALUE);
            for (int tag; (tag = model.readTag()) != 0; ) {
                if (isMessage(tag, MODEL_GRAPH)) {
                    int limit = model.pushLimit(model.readRawVarint32());
                    readGraph(model, locations);
                    model.popLimit(limit);
                } else {
                    model.skipField(tag);
                }
            }
        } catch (IOException e) {
            // a file that is not protobuf at all: ONNX Runtime will say so when it loads it
            if (e instanceof com.google.protobuf.InvalidProtocolBufferException) {
                return locations;
            }
            throw new UncheckedIOException(e);
        }
        return locations;
    }

    private static void readGraph(CodedInputStream in, List<String> locations) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (isMessage(tag, GRAPH_INITIALIZER)) {
                int limit = in.pushLimit(in.readRawVarint32());
                readTensor(in, locations);
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
    }

    private static void readTensor(CodedInputStream in, List<String> locations) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (isMessage(tag, TENSOR_EXTERNAL_DATA)) {
                int limit = in.pushLimit(in.readRawVarint32());
                String key = null, value = null;
                for (int t; (t = in.readTag()) != 0; ) {
                    if (isMessage(t, ENTRY_KEY)) {
                        key = in.readStringRequireUtf8();
                    } else if (isMessage(t, ENTRY_VALUE)) {
                        value = in.readStringRequireUtf8();
                    } else {
                        in.skipField(t);
                    }
                }
                in.popLimit(limit);
                if ("location".equals(key) && value != null) {
                    locations.add(value);
                }
            } else {
                in.skipField(tag);
            }
        }
    }

    private static boolean isMessage(int tag, int field) {
        return WireFormat.getTagFieldNumber(tag) == field
                && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }
}

package org.embeddings.it;

import static org.junit.Assert.assertFalse;

import com.google.gson.JsonElement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.embeddings.testkit.RealNode;

/**
 * What a client is told when a request fails, and the check that it holds no file-system path: the node's folders
 * (as configured and as resolved through links), any absolute path, and the plugin's own folder names. The node's log
 * is where paths belong.
 */
final class ClientErrors {
    private ClientErrors() {}

    /** An absolute path: a slash-separated run of names after a space, a bracket, a quote or the start. */
    private static final Pattern ABSOLUTE_PATH = Pattern.compile("(^|[\\s\\[(:'\"=])/[A-Za-z0-9._-]+/[A-Za-z0-9._/-]*");

    /** Every "reason" or string "error" anywhere in a response body (root causes, caused_by chains, listings). */
    static List<String> reasons(JsonElement body) {
        List<String> out = new ArrayList<>();
        if (body.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : body.getAsJsonObject().entrySet()) {
                if ((e.getKey().equals("reason") || e.getKey().equals("error"))
                        && e.getValue().isJsonPrimitive()) {
                    out.add(e.getValue().getAsString());
                } else {
                    out.addAll(reasons(e.getValue()));
                }
            }
        } else if (body.isJsonArray()) {
            body.getAsJsonArray().forEach(element -> out.addAll(reasons(element)));
        }
        return out;
    }

    /** The response has reasons, and none holds a path of {@code on} or any absolute path. */
    static void assertNoPath(RealNode on, RealNode.Response r) throws Exception {
        List<String> reasons = reasons(r.body());
        assertFalse("no reason in " + r.text(), reasons.isEmpty());
        String real = on.dir().toRealPath().toString();
        String dir = on.dir().toAbsolutePath().toString();
        for (String reason : reasons) {
            assertFalse(reason, reason.contains(real) || reason.contains(dir));
            assertFalse(reason, ABSOLUTE_PATH.matcher(reason).find());
            assertFalse(reason, reason.contains("config/embeddings") || reason.contains("embeddings/int8"));
        }
    }
}

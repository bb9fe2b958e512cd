#!/usr/bin/env bash
# Sourced by the other scripts: exports JAVA_HOME pointing at a JDK 21 or newer (OpenSearch 3.x needs it).
# Keeps a JAVA_HOME that is already new enough; otherwise looks in /usr/lib/jvm and /opt/java.
java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && [ "$(java_major "$JAVA_HOME")" -ge 21 ] 2>/dev/null; then
  :
else
  found=""
  for candidate in /usr/lib/jvm/* /opt/java/* /usr/local/lib/jvm/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null; then found="$candidate"; fi
  done
  if [ -z "$found" ]; then
    echo "error: OpenSearch 3.x needs a JDK 21 or newer; none found (JAVA_HOME=${JAVA_HOME:-unset}, searched /usr/lib/jvm)." >&2
    echo "       Install one (for example: apt-get install openjdk-21-jdk-headless) or set JAVA_HOME to it." >&2
    exit 1
  fi
  export JAVA_HOME="$found"
fi
export PATH="$JAVA_HOME/bin:$PATH"
# Maven's bundled Guava calls sun.misc.Unsafe, which JDK 24+ warns about on every run.
if [ "$(java_major "$JAVA_HOME")" -ge 24 ] 2>/dev/null; then
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi

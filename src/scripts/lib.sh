#!/usr/bin/env bash
# Sourced by every script in this folder: the one place that knows how to find a JDK, where the build put its
# outputs, and how to run a real OpenSearch node from them.
#
# Environment (all optional):
#   OPENSEARCH_VERSION    the OpenSearch release to build for and run (default: the pom's opensearch.version)
#   EMBEDDINGS_BUILD_DIR  Maven's build directory (default: target/); the version matrix gives each version its own
#   EMBEDDINGS_NODE_USER  who runs nodes when the scripts run as root (default: nobody); OpenSearch refuses root
#   EMBEDDINGS_NODES_DIR  where node folders go when that user cannot reach the checkout (default:
#                         /tmp/embeddings-nodes); the folder under the checkout becomes a link to it
#   EMBEDDINGS_PORT_BASE  first HTTP port of the real-node tests, evaluations and benchmarks (default 19200), so that
#                         two checkouts can run them side by side

EMBEDDINGS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---- JDK: OpenSearch 3.x needs 21 or newer; keep a JAVA_HOME that is new enough, else look for one.
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
  case " ${MAVEN_OPTS:-} " in *sun-misc-unsafe*) ;; *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;; esac
fi

# ---- Build outputs
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$EMBEDDINGS_ROOT/pom.xml" | head -n1; }
OPENSEARCH_VERSION=${OPENSEARCH_VERSION:-$(pom_property opensearch.version)}
EMBEDDINGS_VERSION=$(sed -n '0,/<artifactId>opensearch-embeddings<\/artifactId>/d; s:.*<version>\(.*\)</version>.*:\1:p' "$EMBEDDINGS_ROOT/pom.xml" | head -n1)
BUILD_DIR=${EMBEDDINGS_BUILD_DIR:-$EMBEDDINGS_ROOT/target}
PORT_BASE=${EMBEDDINGS_PORT_BASE:-19200}
export OPENSEARCH_VERSION EMBEDDINGS_BUILD_DIR="$BUILD_DIR"

# The Maven command line that builds for this version into this build directory.
mvn_build() {
  mvn -B -ntp -Dopensearch.version="$OPENSEARCH_VERSION" -Dembeddings.build.dir="$BUILD_DIR" -Dembeddings.port.base="$PORT_BASE" "$@"
}
plugin_zip() { echo "$BUILD_DIR/releases/embeddings-$EMBEDDINGS_VERSION-os$OPENSEARCH_VERSION.zip"; }
distribution() { echo "$BUILD_DIR/opensearch-dist/opensearch-$OPENSEARCH_VERSION"; }
# Builds the plugin zip and unpacks the distribution unless both are there and the zip is newer than every source
# it is built from (so that an evaluation or benchmark never measures a stale plugin).
ensure_built() {
  local zip; zip=$(plugin_zip)
  if [ ! -f "$zip" ] || [ ! -d "$(distribution)" ] \
     || [ -n "$(find "$EMBEDDINGS_ROOT/src/main" "$EMBEDDINGS_ROOT/models" "$EMBEDDINGS_ROOT/pom.xml" -newer "$zip" -print -quit)" ]; then
    echo "== building the plugin for OpenSearch $OPENSEARCH_VERSION (JDK: $JAVA_HOME)" >&2
    mvn_build -q verify -DskipTests
  fi
}
# Compiles the tests and prints the classpath benchmarks and evaluations run with.
test_classpath() {
  mvn_build -q generate-resources test-compile dependency:build-classpath \
    -Dmdep.outputFile="$BUILD_DIR/test-classpath.txt" -Dmdep.includeScope=test >&2
  echo "$BUILD_DIR/test-classes:$BUILD_DIR/classes:$(cat "$BUILD_DIR/test-classpath.txt")"
}
# System properties that point a benchmark or evaluation JVM at this build (or at the zip EMBEDDINGS_PLUGIN_ZIP names,
# to measure another build), its node folders and ports.
java_props() {
  echo "-Dembeddings.test.models=$EMBEDDINGS_ROOT/target/models -Dembeddings.data=${DATA_DIR:-$EMBEDDINGS_ROOT/../shared/data}" \
    "-Dembeddings.work.dir=$BUILD_DIR/$1 -Dembeddings.plugin.zip=${EMBEDDINGS_PLUGIN_ZIP:-$(plugin_zip)} -Dembeddings.dist.dir=$(distribution)" \
    "-Dembeddings.port.base=$PORT_BASE"
}

# ---- Running nodes as an unprivileged user
if [ "$(id -u)" = 0 ]; then
  NODE_USER=${EMBEDDINGS_NODE_USER:-nobody}
  NODE_UID=$(id -u "$NODE_USER") || { echo "error: no user [$NODE_USER] to run OpenSearch as (it refuses root)" >&2; exit 1; }
  NODE_GID=$(id -g "$NODE_USER")  # the user's own primary group, whatever the distribution calls it
else
  NODE_USER=""
fi

# Runs a command as the node's user (as is, when not root).
as_node_user() {
  if [ -n "$NODE_USER" ]; then
    setpriv --reuid="$NODE_UID" --regid="$NODE_GID" --clear-groups -- "$@"
  else
    "$@"
  fi
}

# node_home DIR: makes DIR a place the node's user can use and prints the real folder. As root, when that user cannot
# reach DIR's parent (a checkout under /root, mode 700), the node lives under EMBEDDINGS_NODES_DIR instead, one folder
# per checkout path, and DIR becomes a link to it, so that every caller keeps using DIR.
node_home() {
  local dir=$1 parent real
  parent=$(dirname "$dir")
  mkdir -p "$parent"
  if [ -L "$dir" ]; then
    readlink -f "$dir"
    return
  fi
  if [ -z "$NODE_USER" ] || as_node_user test -x "$parent"; then
    echo "$dir"
    return
  fi
  local base=${EMBEDDINGS_NODES_DIR:-/tmp/embeddings-nodes} owner
  owner=$(cd "$parent" && pwd)
  prune_node_homes "$base"
  real="$base/$(printf '%s' "$owner" | sha1sum | cut -c1-12)/$(basename "$dir")"
  mkdir -p "$real"
  printf '%s\n' "$owner" >"$(dirname "$real")/owner"
  chmod 755 "$base" "$(dirname "$real")"
  as_node_user test -x "$real" || { echo "error: user [$NODE_USER] cannot reach [$real] either; set EMBEDDINGS_NODES_DIR" >&2; exit 1; }
  rm -rf "$dir"
  ln -s "$real" "$dir"
  echo "$real"
}

# prune_node_homes BASE: removes the node folders under BASE whose checkout folder (recorded in their `owner` file)
# no longer exists and whose nodes are not running, so that deleted clones do not leave gigabytes behind (every
# node folder holds a whole OpenSearch distribution). Folders without an owner file predate it and are kept.
prune_node_homes() {
  local home owner pidfile alive
  for home in "$1"/*/; do
    [ -f "$home/owner" ] || continue
    owner=$(cat "$home/owner")
    [ -d "$owner" ] && continue
    alive=""
    for pidfile in "$home"*/pid; do
      [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
    done
    [ -z "$alive" ] && rm -rf "${home:?}"
  done
  return 0
}

# ---- Ports
# port_free PORT: true when nothing on loopback accepts connections on PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
# require_free_port PORT WHAT: fails, saying who holds it when it can tell, unless PORT is free.
require_free_port() {
  port_free "$1" && return 0
  echo "error: port $1 ($2) is already in use on 127.0.0.1; stop what holds it or choose another port." >&2
  local answer
  answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null | tr -d '\n' | cut -c1-200 || true)
  [ -n "$answer" ] && echo "       it answers: $answer" >&2
  return 1
}

# wait_for_node DIR HTTP_PORT: waits until the node started in DIR (the process in DIR/pid) answers on HTTP_PORT;
# fails at once if that process dies, and never takes another process's answer on the port for its own.
wait_for_node() {
  local dir=$1 port=$2 pid answer
  for _ in $(seq 1 360); do
    pid=$(cat "$dir/pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
      kill -0 "$pid" 2>/dev/null || break
      answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/_nodes/_local/process?filter_path=nodes.*.process.id" 2>/dev/null || true)
      case "$answer" in *"\"id\":$pid}"*) return 0 ;; *"\"id\":"*)
        echo "error: port $port is answered by another OpenSearch process, not the node started in $dir (pid $pid)" >&2
        return 1 ;;
      esac
    fi
    sleep 0.5
  done
  echo "error: the node in $dir did not answer on port $port; last log lines:" >&2
  tail -n 40 "$dir"/logs/*.log >&2 2>/dev/null || cat "$dir/start.log" >&2 2>/dev/null || true
  return 1
}

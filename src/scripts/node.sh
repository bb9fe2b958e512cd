#!/usr/bin/env bash
# Runs a real OpenSearch node from the distribution with the embeddings plugin installed.
#   node.sh start DIR HTTP_PORT TRANSPORT_PORT [key=value ...]   fresh node in DIR, waits until it answers
#   node.sh stop DIR                                             stops the node started in DIR
#   node.sh kill DIR                                             kill -9, as a crash would
#   node.sh restart DIR HTTP_PORT                                starts the node in DIR again, keeping its data
# Environment: CLUSTER_NAME, SEED_HOSTS (set: join a cluster instead of single-node), NODE_HEAP (JVM heap options),
# NODE_WAIT=0 (return once started, without waiting for the cluster to answer: cluster.sh waits for all nodes),
# EMBEDDINGS_PLUGIN_ZIP and EMBEDDINGS_DIST (the zip and the unpacked distribution; default: the build's, see lib.sh),
# NODE_CPUS (a CPU list for `taskset -c`, say 0 or 0-1: the node's JVM runs on those cores only, and OpenSearch sizes
# its thread pools and the plugin its ONNX Runtime threads by their count), NODE_BUNDLED_MODELS=0 (start without the
# models the plugin zip bundles: a node with no model files at all, unless some are placed in config/embeddings/models).
# A port already in use is an error, never silently shared. OpenSearch refuses to run as root, so as root the node
# runs as an unprivileged user (lib.sh), from a folder that user can reach.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmd=${1:?usage: node.sh start|stop|kill|restart DIR ...}
dir=${2:?usage: node.sh start|stop|kill|restart DIR ...}

stop_node() {
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

launch() {
  local http=$1 transport
  transport=$(sed -n 's/^transport.port: //p' "$dir/config/opensearch.yml" | tail -n1)
  require_free_port "$http" "HTTP of the node in $dir"
  require_free_port "$transport" "transport of the node in $dir"
  # The real folder, not a link under the checkout: the node's user may not be able to pass through the checkout.
  local real
  real=$(readlink -f "$dir")
  if [ -n "$NODE_USER" ]; then chown -R "$NODE_UID:$NODE_GID" "$real"; fi
  rm -f "$dir/pid"
  local pin=()
  if [ -n "${NODE_CPUS:-}" ]; then
    command -v taskset >/dev/null || { echo "error: NODE_CPUS=$NODE_CPUS needs taskset (util-linux)" >&2; exit 1; }
    pin=(taskset -c "$NODE_CPUS")
  fi
  # The node gets no environment but its own: no proxy settings, no inherited JAVA_HOME quirks.
  as_node_user "${pin[@]}" env -i PATH=/usr/bin:/bin HOME="$real" OPENSEARCH_JAVA_HOME="$JAVA_HOME" \
    OPENSEARCH_JAVA_OPTS="${NODE_HEAP:--Xms1g -Xmx1g}" \
    "$real/bin/opensearch" -d -p "$real/pid" >"$dir/start.log" 2>&1 \
    || { cat "$dir/start.log" >&2; exit 1; }
  [ "${NODE_WAIT:-1}" = 0 ] || wait_for_node "$dir" "$http"
}

case "$cmd" in
  kill)
    [ -f "$dir/pid" ] && kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  restart)
    launch "${3:?http port}"
    ;;
  start)
    http=${3:?http port}; transport=${4:?transport port}; shift 4
    zip=${EMBEDDINGS_PLUGIN_ZIP:-$(plugin_zip)}
    dist=${EMBEDDINGS_DIST:-$(distribution)}
    [ -f "$zip" ] || { echo "no plugin zip at $zip: build it first (mvn verify -DskipTests)" >&2; exit 1; }
    [ -d "$dist" ] || { echo "no distribution at $dist: build first (mvn verify -DskipTests)" >&2; exit 1; }
    stop_node
    real=$(node_home "$dir")
    rm -rf "${real:?}"/* "$real"/.[!.]* 2>/dev/null || true
    cp -a "$dist/." "$real/"
    OPENSEARCH_JAVA_HOME="$JAVA_HOME" "$dir/bin/opensearch-plugin" install --batch "file://$zip" >"$dir/plugin-install.log" 2>&1 \
      || { cat "$dir/plugin-install.log" >&2; exit 1; }
    if [ "${NODE_BUNDLED_MODELS:-1}" = 0 ]; then rm -rf "$real/plugins/embeddings/models"; fi
    {
      echo "cluster.name: ${CLUSTER_NAME:-embeddings-$http}"
      echo "node.name: node-$http"
      echo "network.host: 127.0.0.1"
      echo "http.port: $http"
      echo "transport.port: $transport"
      if [ -z "${SEED_HOSTS:-}" ]; then echo "discovery.type: single-node"; fi
      # these nodes share a developer's disk with builds: the disk watermarks (computed on the whole disk, 85 %
      # used stops replica allocation) would make a test or demo depend on unrelated files
      echo "cluster.routing.allocation.disk.threshold_enabled: false"
      for kv in "$@"; do echo "${kv%%=*}: ${kv#*=}"; done
    } >>"$dir/config/opensearch.yml"
    launch "$http"
    ;;
  stop)
    stop_node
    ;;
  *)
    echo "usage: node.sh start|stop|kill|restart DIR ..." >&2
    exit 2
    ;;
esac

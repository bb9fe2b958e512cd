#!/usr/bin/env bash
# Runs a real OpenSearch node from the distribution with the embeddings plugin installed.
#   node.sh start DIR HTTP_PORT TRANSPORT_PORT [key=value ...]   fresh node in DIR, waits until it answers
#   node.sh stop DIR                                             stops the node started in DIR
#   node.sh kill DIR                                             kill -9, as a crash would
#   node.sh restart DIR HTTP_PORT                                starts the node in DIR again, keeping its data
# Environment: CLUSTER_NAME, SEED_HOSTS (set: join a cluster instead of single-node), NODE_HEAP (JVM heap options),
# NODE_WAIT=0 (return once started, without waiting for the cluster to answer: cluster.sh waits for all nodes).
# Needs `mvn verify -DskipTests` to have built target/releases/*.zip and unpacked the distribution.
# OpenSearch refuses to run as root, so as root the node runs as the unprivileged user `nobody`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/java-home.sh"
OPENSEARCH_VERSION=${OPENSEARCH_VERSION:-3.8.0}

cmd=${1:?usage: node.sh start|stop DIR ...}
dir=${2:?usage: node.sh start|stop DIR ...}

stop_node() {
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

launch() {
  run=()
  if [ "$(id -u)" = 0 ]; then
    chown -R nobody:nogroup "$dir"
    run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  fi
  # The node gets no route to the network it would use anyway; the plugin never downloads.
  "${run[@]}" env -i PATH=/usr/bin:/bin HOME="$dir" OPENSEARCH_JAVA_HOME="$JAVA_HOME" \
    OPENSEARCH_JAVA_OPTS="${NODE_HEAP:--Xms1g -Xmx1g}" \
    "$dir/bin/opensearch" -d -p "$dir/pid" >"$dir/start.log" 2>&1 \
    || { cat "$dir/start.log" >&2; exit 1; }
}

wait_for() {
  [ "${NODE_WAIT:-1}" = 0 ] && return 0
  for _ in $(seq 1 180); do
    if curl -fsS "http://127.0.0.1:$1/_cluster/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "node in $dir did not answer on port $1; last log lines:" >&2
  tail -n 40 "$dir"/logs/*.log >&2 || true
  exit 1
}

case "$cmd" in
  kill)
    [ -f "$dir/pid" ] && kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  restart)
    http=${3:?http port}
    launch
    wait_for "$http"
    ;;
  start)
    http=${3:?http port}; transport=${4:?transport port}; shift 4
    zip=$(ls "$root"/target/releases/embeddings-*.zip 2>/dev/null | head -n1)
    dist="$root/target/opensearch-dist/opensearch-$OPENSEARCH_VERSION"
    [ -f "$zip" ] || { echo "no plugin zip under target/releases: run mvn verify -DskipTests first" >&2; exit 1; }
    [ -d "$dist" ] || { echo "no distribution at $dist: run mvn verify -DskipTests first" >&2; exit 1; }
    stop_node
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -a "$dist/." "$dir/"
    OPENSEARCH_JAVA_HOME="$JAVA_HOME" "$dir/bin/opensearch-plugin" install --batch "file://$zip" >"$dir/plugin-install.log" 2>&1 \
      || { cat "$dir/plugin-install.log" >&2; exit 1; }
    {
      echo "cluster.name: ${CLUSTER_NAME:-embeddings-$http}"
      echo "node.name: node-$http"
      echo "network.host: 127.0.0.1"
      echo "http.port: $http"
      echo "transport.port: $transport"
      if [ -z "${SEED_HOSTS:-}" ]; then echo "discovery.type: single-node"; fi
      for kv in "$@"; do echo "${kv%%=*}: ${kv#*=}"; done
    } >>"$dir/config/opensearch.yml"
    launch
    wait_for "$http"
    ;;
  stop)
    stop_node
    ;;
  *)
    echo "usage: node.sh start|stop DIR ..." >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# A 3-node cluster of real OpenSearch processes on loopback, each with the plugin (and its bundled model) installed.
#   cluster.sh start DIR [HTTP_BASE]   nodes in DIR/node-1..3, HTTP on HTTP_BASE+1..3 (default 9200: 9201-9203),
#                                      transport on HTTP_BASE+101..103; waits until all three have joined
#   cluster.sh stop DIR                stops the three nodes
# Every node is cluster-manager eligible, data and ingest; each loads models on first use. Heap per node: NODE_HEAP
# (default -Xms512m -Xmx512m). Extra key=value settings after HTTP_BASE go to every node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: cluster.sh start|stop DIR [HTTP_BASE]}
dir=${2:?usage: cluster.sh start|stop DIR [HTTP_BASE]}
case "$cmd" in
  start)
    base=${3:-9200}; shift 3 2>/dev/null || shift $#
    seeds="127.0.0.1:$((base + 101)),127.0.0.1:$((base + 102)),127.0.0.1:$((base + 103))"
    managers="node-$((base + 1)),node-$((base + 2)),node-$((base + 3))"
    for i in 1 2 3; do
      CLUSTER_NAME="embeddings-cluster-$base" SEED_HOSTS="$seeds" NODE_WAIT=0 NODE_HEAP="${NODE_HEAP:--Xms512m -Xmx512m}" \
        bash "$here/node.sh" start "$dir/node-$i" $((base + i)) $((base + 100 + i)) \
        "discovery.seed_hosts=[$seeds]" "cluster.initial_cluster_manager_nodes=[$managers]" "$@"
    done
    for i in 1 2 3; do wait_for_node "$dir/node-$i" $((base + i)) || { bash "$here/cluster.sh" stop "$dir"; exit 1; }; done
    for _ in $(seq 1 240); do
      if curl -fsS "http://127.0.0.1:$((base + 1))/_cluster/health?wait_for_nodes=3&timeout=1s" 2>/dev/null | grep -q '"number_of_nodes":3'; then
        exit 0
      fi
      sleep 0.5
    done
    echo "the cluster in $dir did not form; last log lines of node 1:" >&2
    tail -n 40 "$dir"/node-1/logs/*.log >&2 || true
    exit 1
    ;;
  stop)
    for i in 1 2 3; do bash "$here/node.sh" stop "$dir/node-$i"; done
    ;;
  *)
    echo "usage: cluster.sh start|stop DIR [HTTP_BASE]" >&2
    exit 2
    ;;
esac

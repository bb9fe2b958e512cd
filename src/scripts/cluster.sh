#!/usr/bin/env bash
# A 3-node cluster of real OpenSearch processes on loopback, each with the plugin (and its bundled model) installed.
#   cluster.sh start DIR [HTTP_BASE]   nodes in DIR/node-1..3, HTTP on HTTP_BASE+1..3 (default 9200: 9201-9203),
#                                      transport on HTTP_BASE+101..103; waits until all three have joined
#   cluster.sh start-nodes DIR HTTP_BASE SPEC... [-- key=value ...]
#                                      one node per SPEC, with the roles it names: DIR/node-1..N, HTTP on HTTP_BASE+1..N,
#                                      transport on HTTP_BASE+101..; waits until all have joined
#   cluster.sh stop DIR                stops every node in DIR
# start: every node is cluster-manager eligible, data and ingest; each loads models on first use. Heap per node:
# NODE_HEAP (default -Xms512m -Xmx512m). Extra key=value settings after HTTP_BASE go to every node.
# start-nodes: SPEC is ROLES/CPUS/MODELS[/key=value...]: ROLES the node.roles, comma-separated (`-` for none, a
# coordinating-only node); CPUS a list for `taskset -c` (0, 1, 0-1; `-` leaves the node unpinned); MODELS `bundled`
# (the models the plugin zip bundles) or `none` (no model files on the node); then settings for this node only
# (values without `/`). Settings after `--` go to every node. The cluster-manager-eligible nodes (ROLES naming
# cluster_manager) bootstrap the cluster; at least one is needed. For example, a data node without models, two
# ingest nodes pinned to a core each and a coordinating-only node:
#   cluster.sh start-nodes target/topo 9200 data,cluster_manager/-/none ingest/0/bundled ingest/1/bundled -/-/bundled
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: cluster.sh start|start-nodes|stop DIR [HTTP_BASE]}
dir=${2:?usage: cluster.sh start|start-nodes|stop DIR [HTTP_BASE]}

# wait_for_cluster DIR HTTP_PORT N: waits until N nodes have joined the cluster the node on HTTP_PORT belongs to.
wait_for_cluster() {
  for _ in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$2/_cluster/health?wait_for_nodes=$3&timeout=1s" 2>/dev/null | grep -q "\"number_of_nodes\":$3,"; then
      return 0
    fi
    sleep 0.5
  done
  echo "the cluster in $1 did not form; last log lines of node 1:" >&2
  tail -n 40 "$1"/node-1/logs/*.log >&2 || true
  return 1
}

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
    wait_for_cluster "$dir" $((base + 1)) 3 || exit 1
    ;;
  start-nodes)
    base=${3:?usage: cluster.sh start-nodes DIR HTTP_BASE SPEC... [-- key=value ...]}; shift 3
    specs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do specs+=("$1"); shift; done
    [ $# -gt 0 ] && shift  # the --; what follows goes to every node
    n=${#specs[@]}
    [ "$n" -gt 0 ] || { echo "usage: cluster.sh start-nodes DIR HTTP_BASE SPEC... [-- key=value ...]" >&2; exit 2; }
    seeds="" managers=""
    for i in $(seq 1 "$n"); do
      seeds="$seeds${seeds:+,}127.0.0.1:$((base + 100 + i))"
      roles=${specs[$((i - 1))]%%/*}
      case ",$roles," in *,cluster_manager,*|*,master,*) managers="$managers${managers:+,}node-$((base + i))" ;; esac
    done
    [ -n "$managers" ] || { echo "error: no SPEC names the cluster_manager role; the cluster could not form" >&2; exit 2; }
    # the nodes start side by side (each start copies a distribution, installs the plugin and boots a JVM: minutes on
    # a busy machine); each one's output goes to DIR/node-N.start.log, shown if it fails
    mkdir -p "$dir"
    starts=()
    for i in $(seq 1 "$n"); do
      IFS=/ read -r -a fields <<<"${specs[$((i - 1))]}"
      roles=${fields[0]}; cpus=${fields[1]:--}; models=${fields[2]:-bundled}
      [ "$roles" = - ] && roles=""
      [ "$cpus" = - ] && cpus=""
      case "$models" in bundled) bundled=1 ;; none) bundled=0 ;;
        *) echo "error: MODELS in [${specs[$((i - 1))]}] is [$models], not bundled or none" >&2; exit 2 ;; esac
      CLUSTER_NAME="embeddings-nodes-$base" SEED_HOSTS="$seeds" NODE_WAIT=0 NODE_HEAP="${NODE_HEAP:--Xms512m -Xmx512m}" \
        NODE_CPUS="$cpus" NODE_BUNDLED_MODELS="$bundled" \
        bash "$here/node.sh" start "$dir/node-$i" $((base + i)) $((base + 100 + i)) \
        "node.roles=[$roles]" "discovery.seed_hosts=[$seeds]" "cluster.initial_cluster_manager_nodes=[$managers]" \
        "${fields[@]:3}" "$@" >"$dir/node-$i.start.log" 2>&1 &
      starts+=($!)
    done
    failed=""
    for i in $(seq 1 "$n"); do
      if ! wait "${starts[$((i - 1))]}"; then
        echo "error: node $i (${specs[$((i - 1))]}) did not start:" >&2
        cat "$dir/node-$i.start.log" >&2
        failed=1
      fi
    done
    [ -z "$failed" ] || { bash "$here/cluster.sh" stop "$dir"; exit 1; }
    for i in $(seq 1 "$n"); do wait_for_node "$dir/node-$i" $((base + i)) || { bash "$here/cluster.sh" stop "$dir"; exit 1; }; done
    wait_for_cluster "$dir" $((base + 1)) "$n" || { bash "$here/cluster.sh" stop "$dir"; exit 1; }
    ;;
  stop)
    for node in "$dir"/node-*; do
      if [ -d "$node" ]; then bash "$here/node.sh" stop "$node"; fi
    done
    ;;
  *)
    echo "usage: cluster.sh start|start-nodes|stop DIR [HTTP_BASE]" >&2
    exit 2
    ;;
esac

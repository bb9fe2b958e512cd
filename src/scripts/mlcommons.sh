#!/usr/bin/env bash
# Baseline for side-by-side benchmarks: a stock OpenSearch 3.6.0 node with ml-commons + neural-search running
# bge-small-en-v1.5 (ONNX, CLS pooling, normalized, 384 dims) as a local ml-commons TEXT_EMBEDDING model.
#   mlcommons.sh start   set up if needed, start a fresh node (empty data), register + deploy the models (MLC_MODELS),
#                        print MODEL_ID_<name>=<id> per model and MODEL_ID=<first id> as the last line of stdout, and
#                        leave the node running
#   mlcommons.sh stop    stop the node
#   mlcommons.sh smoke   start, ingest 5 documents through a text_embedding pipeline, one neural query, stop
# Node: http 127.0.0.1:PORT_BASE+95 (MLC_HTTP_PORT; 19295), transport PORT_BASE+195 (MLC_TRANSPORT_PORT), heap 1g (MLC_HEAP).
# Everything lives under target/mlcommons/ (MLC_DIR): downloads/ (Maven Central cache; reruns are offline), node/ (the
# node), djl/ (PyTorch natives), model/ (the model zip), model_id (the deployed model's id). MLC_EXTRA_PLUGINS (zip paths,
# space-separated) are installed after the standard plugins and MLC_EXTRA_SETTINGS (key=value, space-separated) go
# into opensearch.yml: coexist.sh uses both to put this plugin beside them.
#
# Workarounds this script carries:
# - ml-commons' DJL loads the PyTorch engine even for ONNX models (ONNX Runtime uses it for NDArray ops) and would
#   download libtorch + the JNI glue from publish.djl.ai on first deploy. The node gets no network, so the script
#   takes ai.djl.pytorch:pytorch-native-cpu (libtorch) and ai.djl.pytorch:pytorch-jni from Maven Central and lays
#   them out where DJL looks: <data>/ml_cache/pytorch/<pytorch>-cpu-precxx11-linux-x86_64/ (ml-commons sets
#   DJL_CACHE_DIR=<data>/ml_cache and PYTORCH_PRECXX11=true) with the JNI library named <djl>-libdjl_torch.so.
#   The directory name says precxx11 but holds the cxx11-ABI libtorch and the matching cxx11 JNI ("cpu" flavor):
#   only the pair has to agree, and Maven Central has no precxx11 libtorch for 2.5.1.
# - Maven Central has no pytorch-jni built for the bundled DJL (0.31.1); the nearest build for the same PyTorch
#   (2.5.1-0.32.0) is used when the exact one is missing.
# - The model zip is registered by a file:// URL (plugins.ml_commons.allow_registering_model_via_url).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

OS_VERSION=3.6.0
PLUGIN_VERSION=3.6.0.0
MAVEN=${MAVEN_REPO:-https://repo1.maven.org/maven2}
HTTP_PORT=${MLC_HTTP_PORT:-$((PORT_BASE + 95))}
TRANSPORT_PORT=${MLC_TRANSPORT_PORT:-$((PORT_BASE + 195))}
HEAP=${MLC_HEAP:--Xms1g -Xmx1g}
MODEL_DIR=${MLC_MODEL_DIR:-$root/target/models/bge-small-en-v1.5}
# NAME=DIR pairs, each registered and deployed; the first is MODEL_ID. All are bge-small-en-v1.5 (fp32 or int8 files).
MODELS=${MLC_MODELS:-bge-small-en-v1.5=$MODEL_DIR}
# BGE's query instruction, the same prefix this plugin's card gives role query: ml-commons applies a model's
# query_prefix to the text of a neural query (an asymmetric model), so both stacks encode the same query text.
QUERY_PREFIX=${MLC_QUERY_PREFIX-Represent this sentence for searching relevant passages: }

base=${MLC_DIR:-$root/target/mlcommons}
dl="$root/target/mlcommons/downloads"
node="$base/node"
url="http://127.0.0.1:$HTTP_PORT"

log() { echo "[mlcommons] $*" >&2; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }  # secs T0 T1 -> "12.3"
die() { echo "[mlcommons] error: $*" >&2; exit 1; }

# fetch GROUP_PATH ARTIFACT VERSION FILE_SUFFIX -> path of the cached download
fetch() {
  local file="$2-$3$4" dest="$dl/$2-$3$4"
  if [ ! -s "$dest" ]; then
    mkdir -p "$dl"
    log "downloading $1/$2/$3/$file"
    curl -fsSL --retry 3 -o "$dest.part" "$MAVEN/$1/$2/$3/$file" || { rm -f "$dest.part"; return 1; }
    mv "$dest.part" "$dest"
  fi
  echo "$dest"
}

setup_node() {
  [ -f "$node/.installed" ] && return 0
  local dist
  dist=$(fetch org/opensearch/distribution/integ-test-zip opensearch "$OS_VERSION" .zip)
  rm -rf "$base/unpack"
  mkdir -p "$base/unpack"
  unzip -q "$dist" -d "$base/unpack"
  local real
  real=$(node_home "$node")  # as root: a folder the node's user can reach (lib.sh)
  rm -rf "${real:?}"/* "$real"/.[!.]* 2>/dev/null || true
  cp -a "$base/unpack/opensearch-$OS_VERSION/." "$real/"
  rm -rf "$base/unpack"
  # dependency order: ml-commons extends job-scheduler, neural-search extends k-NN
  local p zip
  for p in opensearch-job-scheduler opensearch-knn opensearch-ml-plugin neural-search; do
    zip=$(fetch org/opensearch/plugin "$p" "$PLUGIN_VERSION" .zip)
    log "installing $p"
    OPENSEARCH_JAVA_HOME="$JAVA_HOME" "$node/bin/opensearch-plugin" install --batch "file://$zip" >>"$node/plugin-install.log" 2>&1 \
      || { cat "$node/plugin-install.log" >&2; die "installing $p failed"; }
  done
  for zip in ${MLC_EXTRA_PLUGINS:-}; do
    log "installing $zip"
    OPENSEARCH_JAVA_HOME="$JAVA_HOME" "$node/bin/opensearch-plugin" install --batch "file://$zip" >>"$node/plugin-install.log" 2>&1 \
      || { cat "$node/plugin-install.log" >&2; die "installing $zip failed"; }
  done
  cat >>"$node/config/opensearch.yml" <<EOF
cluster.name: mlcommons-baseline
node.name: mlcommons-node
network.host: 127.0.0.1
discovery.type: single-node
plugins.ml_commons.only_run_on_ml_node: false
plugins.ml_commons.native_memory_threshold: 100
plugins.ml_commons.jvm_heap_memory_threshold: 100
plugins.ml_commons.allow_registering_model_via_url: true
plugins.ml_commons.allow_registering_model_via_local_file: true
plugins.ml_commons.model_auto_redeploy.enable: false
EOF
  for kv in ${MLC_EXTRA_SETTINGS:-}; do echo "${kv%%=*}: ${kv#*=}" >>"$node/config/opensearch.yml"; done
  touch "$node/.installed"
}

# PyTorch natives for the DJL bundled with ml-commons, unpacked once under target/mlcommons/djl/<dirname>/
setup_djl() {
  local mldir="$node/plugins/opensearch-ml" api djl pt jni_ver jni native dir
  api=$(ls "$mldir"/api-*.jar 2>/dev/null | head -n1)
  [ -n "$api" ] || die "no DJL api jar in $mldir"
  djl=$(basename "$api" .jar); djl=${djl#api-}
  pt=$(unzip -p "$(ls "$mldir"/pytorch-engine-*.jar | head -n1)" pytorch-engine.properties | sed -n 's/^pytorch_version=//p' | tr -d '\r')
  [ -n "$pt" ] || die "cannot read pytorch_version from the pytorch-engine jar"
  DJL_DIR_NAME="$pt-cpu-precxx11-linux-x86_64"
  DJL_JNI_NAME="$djl-libdjl_torch.so"
  dir="$base/djl/$DJL_DIR_NAME"
  [ -f "$dir/$DJL_JNI_NAME" ] && [ -f "$dir/libtorch.so" ] && return 0
  native=$(fetch ai/djl/pytorch pytorch-native-cpu "$pt" -linux-x86_64.jar)
  jni_ver="$pt-$djl"
  jni=$(ls "$dl"/pytorch-jni-"$pt"-*.jar 2>/dev/null | sort -V | tail -n1 || true)  # cached: stay offline
  if [ -n "$jni" ]; then
    jni_ver=$(basename "$jni" .jar); jni_ver=${jni_ver#pytorch-jni-}
  elif ! jni=$(fetch ai/djl/pytorch pytorch-jni "$jni_ver" .jar 2>/dev/null); then
    jni_ver=$(curl -fsS "$MAVEN/ai/djl/pytorch/pytorch-jni/maven-metadata.xml" | sed -n "s:.*<version>\($pt-[^<]*\)</version>.*:\1:p" | tail -n1)
    [ -n "$jni_ver" ] || die "no ai.djl.pytorch:pytorch-jni for PyTorch $pt on Maven Central"
    log "no pytorch-jni $pt-$djl on Maven Central; using $jni_ver"
    jni=$(fetch ai/djl/pytorch pytorch-jni "$jni_ver" .jar)
  fi
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  unzip -q -j "$native" "pytorch/cpu/linux-x86_64/*" -d "$dir.tmp"
  unzip -q -p "$jni" jnilib/linux-x86_64/cpu/libdjl_torch.so >"$dir.tmp/$DJL_JNI_NAME"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  # (not inside the directory: DJL System.load()s every file in it)
  echo "djl=$djl pytorch=$pt pytorch-native-cpu=$pt pytorch-jni=$jni_ver" >"$dir.source"
}

model_zip() { # model_zip NAME DIR
  local zip="$base/model/$1.zip" dir=$2
  if [ ! -s "$zip" ] || [ "$dir/model.onnx" -nt "$zip" ] || [ "$dir/tokenizer.json" -nt "$zip" ]; then
    [ -f "$dir/model.onnx" ] && [ -f "$dir/tokenizer.json" ] || die "need model.onnx and tokenizer.json in $dir"
    mkdir -p "$base/model"; rm -f "$zip"
    (cd "$dir" && zip -q -j -0 "$zip.tmp" model.onnx tokenizer.json) && mv "$zip.tmp" "$zip"
  fi
  echo "$zip"
}

stop_node() {
  [ -f "$node/pid" ] || return 0
  local pid; pid=$(cat "$node/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$node/pid"
}

start_node() {
  stop_node
  # a fresh cluster every start; the PyTorch natives go where ml-commons' DJL looks (hard links: no 450 MB copy)
  rm -rf "$node/data" "$node/logs"; mkdir -p "$node/logs" "$node/data/ml_cache/pytorch"
  cp -al "$base/djl/$DJL_DIR_NAME" "$node/data/ml_cache/pytorch/$DJL_DIR_NAME" 2>/dev/null \
    || cp -a "$base/djl/$DJL_DIR_NAME" "$node/data/ml_cache/pytorch/$DJL_DIR_NAME"
  # the ports belong to this start, not to the install: a node installed under another port base is reused
  sed -i '/^http\.port:/d; /^transport\.port:/d' "$node/config/opensearch.yml"
  printf 'http.port: %s\ntransport.port: %s\n' "$HTTP_PORT" "$TRANSPORT_PORT" >>"$node/config/opensearch.yml"
  require_free_port "$HTTP_PORT" "HTTP of the ml-commons node"
  require_free_port "$TRANSPORT_PORT" "transport of the ml-commons node"
  local real
  real=$(readlink -f "$node")
  if [ -n "$NODE_USER" ]; then chown -R "$NODE_UID:$NODE_GID" "$real"; fi
  as_node_user env -i PATH=/usr/bin:/bin HOME="$real" OPENSEARCH_JAVA_HOME="$JAVA_HOME" OPENSEARCH_JAVA_OPTS="$HEAP" \
    "$real/bin/opensearch" -d -p "$real/pid" >"$node/start.log" 2>&1 || { cat "$node/start.log" >&2; die "node did not start"; }
  wait_for_node "$node" "$HTTP_PORT" || die "node did not answer on $url"
}

# api METHOD PATH [JSON] -> response body; fails on HTTP errors (printing the body)
api() {
  local out code
  out=$(curl -sS -X "$1" "$url$2" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} -w '\n%{http_code}')
  code=${out##*$'\n'}; out=${out%$'\n'*}
  if [ "$code" -ge 300 ]; then echo "$1 $2 -> HTTP $code: $out" >&2; return 1; fi
  echo "$out"
}

# wait_task TASK_ID -> final task JSON (fails unless COMPLETED)
wait_task() {
  local t state
  for _ in $(seq 1 1200); do
    t=$(api GET "/_plugins/_ml/tasks/$1")
    state=$(jq -r .state <<<"$t")
    case "$state" in
      COMPLETED) echo "$t"; return 0 ;;
      FAILED|COMPLETED_WITH_ERROR|CANCELLED) echo "task $1 $state: $t" >&2; tail -n 40 "$node/logs/mlcommons-baseline.log" >&2; return 1 ;;
    esac
    sleep 0.25
  done
  echo "task $1 did not finish: $t" >&2; return 1
}

register_and_deploy() { # register_and_deploy NAME DIR
  local name=$1 zip sha size body task model_id t0 t1 t2 state
  zip=$(model_zip "$name" "$2")
  sha=$(sha256sum "$zip" | cut -d' ' -f1)
  size=$(stat -c %s "$zip")
  body=$(jq -n --arg name "$name" --arg url "file://$zip" --arg sha "$sha" --argjson size "$size" --arg qp "$QUERY_PREFIX" '{
    name: $name, version: "1.0.0", function_name: "TEXT_EMBEDDING", model_format: "ONNX",
    description: "BAAI/bge-small-en-v1.5, CLS pooling, normalized",
    model_content_hash_value: $sha, model_content_size_in_bytes: $size, url: $url,
    model_config: ({model_type: "bert", embedding_dimension: 384, framework_type: "sentence_transformers",
                   pooling_mode: "CLS", normalize_result: true}
                   + (if $qp == "" then {} else {query_prefix: $qp, passage_prefix: ""} end))}')
  t0=$(date +%s.%N)
  task=$(api POST /_plugins/_ml/models/_register "$body" | jq -r .task_id)
  model_id=$(wait_task "$task" | jq -r .model_id)
  t1=$(date +%s.%N)
  task=$(api POST "/_plugins/_ml/models/$model_id/_deploy" | jq -r .task_id)
  wait_task "$task" >/dev/null
  state=$(api GET "/_plugins/_ml/models/$model_id" | jq -r .model_state)
  t2=$(date +%s.%N)
  [ "$state" = DEPLOYED ] || die "model $model_id is $state after the deploy task"
  secs "$t0" "$t2" >"$base/register_to_deployed_s.$name"
  log "model $name ($model_id) DEPLOYED: register $(secs "$t0" "$t1")s + deploy $(secs "$t1" "$t2")s = $(secs "$t0" "$t2")s from register call to deployed"
  echo "$model_id"
}

register_all() {
  local pair id
  MODEL_IDS=()
  for pair in $MODELS; do
    id=$(register_and_deploy "${pair%%=*}" "${pair#*=}")
    MODEL_IDS+=("${pair%%=*}=$id")
  done
  MODEL_ID=${MODEL_IDS[0]#*=}
  printf '%s\n' "$MODEL_ID" >"$base/model_id"
  cp "$base/register_to_deployed_s.${MODEL_IDS[0]%%=*}" "$base/register_to_deployed_s"
}

start() {
  local t0 t1
  t0=$(date +%s.%N)
  setup_node
  setup_djl
  start_node
  t1=$(date +%s.%N)
  log "node up on $url in $(secs "$t0" "$t1")s"
  # resident memory before any model, for benchmarks that report what the deployed model adds
  grep VmRSS "/proc/$(cat "$node/pid")/status" | tr -dc '0-9' >"$base/rss_before_model_kb"
  register_all
  log "start + register + deploy took $(secs "$t0" "$(date +%s.%N)")s"
}

smoke() {
  local idx=mlc-smoke pipe=mlc-embed
  api PUT "/_ingest/pipeline/$pipe" "$(jq -n --arg m "$MODEL_ID" '{description: "bge-small embeddings",
    processors: [{text_embedding: {model_id: $m, field_map: {body: "body_vec"}}}]}')" >/dev/null
  api PUT "/$idx" "$(jq -n --arg p "$pipe" '{
    settings: {index: {knn: true, number_of_shards: 1, number_of_replicas: 0, default_pipeline: $p}},
    mappings: {properties: {body: {type: "text"}, body_vec: {type: "knn_vector", dimension: 384,
      method: {name: "hnsw", engine: "lucene", space_type: "cosinesimil"}}}}}')" >/dev/null
  local bulk
  bulk=$(cat <<'EOF'
{"index":{"_id":"cats"}}
{"body":"Cats are small domesticated felines that purr and chase mice."}
{"index":{"_id":"rust"}}
{"body":"Rust is a systems programming language focused on memory safety."}
{"index":{"_id":"paris"}}
{"body":"Paris is the capital of France, known for the Eiffel Tower."}
{"index":{"_id":"dogs"}}
{"body":"Dogs are loyal pets that love to play fetch in the park."}
{"index":{"_id":"bread"}}
{"body":"To bake bread, mix flour, water, yeast and salt, then let it rise."}
EOF
)
  local res
  res=$(curl -sS -X POST "$url/$idx/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"$'\n')
  [ "$(jq -r .errors <<<"$res")" = false ] || die "bulk failed: $res"
  echo "indexed $(jq '.items | length' <<<"$res") documents; body_vec of 'cats': $(api GET "/$idx/_doc/cats" | jq -r '._source.body_vec | "\(length) dims, L2 norm \([.[] | . * .] | add | sqrt)"')"
  local q="which animal purrs and hunts mice?"
  res=$(api POST "/$idx/_search" "$(jq -n --arg m "$MODEL_ID" --arg q "$q" '{size: 3, _source: false,
    query: {neural: {body_vec: {query_text: $q, model_id: $m, k: 3}}}}')")
  echo "neural query: $q"
  jq -r '.hits.hits[] | "  \(._id)\t\(._score)"' <<<"$res"
  [ "$(jq -r '.hits.hits[0]._id' <<<"$res")" = cats ] || die "expected 'cats' as the top hit"
  echo "smoke test passed"
}

case "${1:-}" in
  start)
    start
    for pair in "${MODEL_IDS[@]}"; do echo "MODEL_ID_${pair%%=*}=${pair#*=}"; done
    echo "MODEL_ID=$MODEL_ID"
    ;;
  stop) stop_node; log "stopped" ;;
  smoke)
    trap stop_node EXIT
    start
    smoke
    ;;
  *) echo "usage: mlcommons.sh start|stop|smoke" >&2; exit 2 ;;
esac

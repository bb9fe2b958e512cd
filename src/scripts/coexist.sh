#!/usr/bin/env bash
# One OpenSearch 3.6.0 node holding the standard distribution's job-scheduler, k-NN, ml-commons and neural-search
# 3.6.0.0 (from Maven Central) and this plugin, both stacks exercised side by side:
#   theirs: a registered and deployed ONNX model (bge-small-en-v1.5), a text_embedding pipeline, a knn_vector index and
#           a neural query;
#   ours:   an embed pipeline, embedding fields (one in an index.knn: true index, where k-NN owns the codec), embed_knn,
#           fusion, and the REST embed API;
# then the node's log is searched for native-library and name clashes. Prints PASS/FAIL per check and exits non-zero
# on any failure. Not part of CI: the first run downloads about 1 GB (distribution, plugins, PyTorch natives).
#   coexist.sh            run the checks and stop the node
#   COEXIST_KEEP=1 coexist.sh   leave the node running afterwards (stop: MLC_DIR=target/coexist src/scripts/mlcommons.sh stop)
#   COEXIST_ORDER=theirs-first coexist.sh   load ml-commons' native libraries before ours (default: ours first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export OPENSEARCH_VERSION=3.6.0
export EMBEDDINGS_BUILD_DIR=${EMBEDDINGS_BUILD_DIR:-$(cd "$here/../.." && pwd)/target/matrix/3.6.0}
. "$here/lib.sh"
export MLC_DIR="$EMBEDDINGS_ROOT/target/coexist"
export MLC_HTTP_PORT=${MLC_HTTP_PORT:-$((PORT_BASE + 97))} MLC_TRANSPORT_PORT=${MLC_TRANSPORT_PORT:-$((PORT_BASE + 197))}
url="http://127.0.0.1:$MLC_HTTP_PORT"
started=$(date +%s)

echo "== building this plugin for OpenSearch 3.6.0"
mvn_build -q package -DskipTests
zip=$(plugin_zip)
bash "$here/mlcommons.sh" stop >/dev/null 2>&1 || true  # a node left by an earlier run
rm -f "$MLC_DIR/node/.installed"  # a fresh node, so the plugin just built is the one installed
[ "${COEXIST_KEEP:-0}" = 1 ] || trap 'bash "$here/mlcommons.sh" stop >/dev/null 2>&1 || true' EXIT
echo "== starting OpenSearch 3.6.0 with job-scheduler, k-NN, ml-commons, neural-search and $(basename "$zip")"
# COEXIST_ORDER=ours-first (default) preloads our model at node start, so our ONNX Runtime and tokenizer libraries
# load before ml-commons deploys its model; theirs-first loads ours only at the first request after their deploy.
settings=""
[ "${COEXIST_ORDER:-ours-first}" = ours-first ] && settings="embeddings.models.preload=[bge-small-en-v1.5]"
echo "== native libraries load order: ${COEXIST_ORDER:-ours-first}"
model_id=$(MLC_EXTRA_PLUGINS="$zip" MLC_EXTRA_SETTINGS="$settings" bash "$here/mlcommons.sh" start | sed -n 's/^MODEL_ID=//p' || true)
if [ -z "$model_id" ]; then
  echo "FAIL: ml-commons did not deploy its model; the node's log says:" >&2
  grep -E "ERROR|Exception|Caused by" "$MLC_DIR"/node/logs/*.log | tail -n 20 >&2
  exit 1
fi

failures=0
check() { # check NAME CONDITION_COMMAND...
  local name=$1; shift
  if "$@"; then echo "PASS  $name"; else echo "FAIL  $name"; failures=$((failures + 1)); fi
}
api() { curl -sS -X "$1" "$url$2" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
status() { curl -sS -o /dev/null -w '%{http_code}' -X "$1" "$url$2" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
top_id() { jq -r '.hits.hits[0]._id // "none"'; }

plugins=$(api GET "/_cat/plugins?h=component" | sort | tr '\n' ' ')
check "five plugins on one node: $plugins" \
  bash -c '[[ "$1" == *embeddings* && "$1" == *opensearch-knn* && "$1" == *opensearch-ml* && "$1" == *neural-search* && "$1" == *job-scheduler* ]]' _ "$plugins"

docs='{"index":{"_id":"cats"}}
{"body":"Cats are small domesticated felines that purr and chase mice."}
{"index":{"_id":"rust"}}
{"body":"Rust is a systems programming language focused on memory safety."}
{"index":{"_id":"paris"}}
{"body":"Paris is the capital of France, known for the Eiffel Tower."}
{"index":{"_id":"bread"}}
{"body":"To bake bread, mix flour, water, yeast and salt, then let it rise."}
'
question="which animal purrs and hunts mice?"

# --- theirs
api PUT /_ingest/pipeline/mlc-embed "{\"processors\": [{\"text_embedding\": {\"model_id\": \"$model_id\", \"field_map\": {\"body\": \"body_vec\"}}}]}" >/dev/null
api PUT /theirs '{"settings": {"index": {"knn": true, "number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "mlc-embed"}},
  "mappings": {"properties": {"body": {"type": "text"}, "body_vec": {"type": "knn_vector", "dimension": 384,
  "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}' >/dev/null
check "ml-commons ingest through text_embedding" \
  test "$(curl -sS -X POST "$url/theirs/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$docs" | jq -r .errors)" = false
check "neural query finds cats" test "$(api POST /theirs/_search "{\"query\": {\"neural\": {\"body_vec\": {\"query_text\": \"$question\", \"model_id\": \"$model_id\", \"k\": 3}}}}" | top_id)" = cats

# --- ours
api PUT /_ingest/pipeline/ours-embed '{"processors": [{"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "vec"}}}]}' >/dev/null
api PUT /ours '{"settings": {"number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "ours-embed"},
  "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"}}}}' >/dev/null
check "embed pipeline ingest" \
  test "$(curl -sS -X POST "$url/ours/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$docs" | jq -r .errors)" = false
check "embed_knn finds cats" test "$(api POST /ours/_search "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"$question\", \"k\": 3}}}}" | top_id)" = cats
check "fusion (BM25 + embed_knn) finds cats" test "$(api POST /ours/_search "{\"query\": {\"fusion\": {\"method\": \"linear\", \"queries\": [
  {\"match\": {\"body\": \"$question\"}}, {\"embed_knn\": {\"vec\": {\"query_text\": \"$question\", \"k\": 3}}}]}}}" | top_id)" = cats
check "REST embed API" test "$(api POST /_plugins/_embeddings/embed '{"model": "bge-small-en-v1.5", "role": "query", "texts": ["purring"]}' | jq -r .dims)" = 384
# our field in an index whose codec k-NN owns (index.knn: true), next to a knn_vector field
api PUT /mixed '{"settings": {"index": {"knn": true, "number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "ours-embed"}},
  "mappings": {"properties": {"body": {"type": "text"}, "vec": {"type": "embedding", "model": "bge-small-en-v1.5"},
  "other": {"type": "knn_vector", "dimension": 3}}}}' >/dev/null
check "embedding field in an index.knn index: ingest" \
  test "$(curl -sS -X POST "$url/mixed/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$docs" | jq -r .errors)" = false
check "embedding field in an index.knn index: embed_knn" \
  test "$(api POST /mixed/_search "{\"query\": {\"embed_knn\": {\"vec\": {\"query_text\": \"$question\", \"k\": 3}}}}" | top_id)" = cats
refused=$(status PUT /knn-quantized '{"settings": {"index.knn": true}, "mappings": {"properties": {
  "vec": {"type": "embedding", "dims": 384, "index_options": {"type": "hnsw", "quantization": "int8"}}}}}')
check "our quantized index_options refused in an index.knn index (got $refused)" test "$refused" = 400

# --- the log: no native-library or name clash, nothing thrown by either stack
for sign in UnsatisfiedLinkError "already loaded in another classloader" "ORT_API_VERSION" "is already registered" "jar hell" "NoSuchMethodError" "LinkageError"; do
  check "log has no [$sign]" bash -c '! grep -q -- "$1" "${@:2}"' _ "$sign" "$MLC_DIR"/node/logs/*.log
done
echo "native stacks: ours $(ls "$MLC_DIR"/node/plugins/embeddings | grep -E '^(onnxruntime|tokenizers)' | tr '\n' ' ')," \
  "ml-commons $(ls "$MLC_DIR"/node/plugins/opensearch-ml | grep -E '^(onnxruntime|tokenizers|api-|pytorch-engine)' | tr '\n' ' ')"
if [ "$failures" = 0 ]; then
  echo "PASS: every check passed in $(( $(date +%s) - started )) s"
else
  echo "FAIL: $failures check(s) failed, in $(( $(date +%s) - started )) s"
fi
exit $((failures > 0))

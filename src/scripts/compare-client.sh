#!/usr/bin/env bash
# This plugin against ml-commons with an independent-style client (src/scripts/client.py: Python urllib, one
# connection per request): one side at a time on this machine, both heaps 1 GB, our query cache off. Ours is run
# as -int8 and fp32 (bge-small-en-v1.5, BGE's query instruction on role query), ml-commons with its fp32 model and no
# query instruction (which leans against us). Each side gets a warm-up pass first, whose figures are discarded.
# Prints each side's figures and the ratios, and the CPU's flags.
#   compare-client.sh [DOCS] [QUERIES] [CLIENTS] [SECONDS]   (defaults 1000 300 16 30)
#   NODE_SETTINGS="key=value ..." adds node settings to our side (e.g. embeddings.onnx.workers=1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
docs=${1:-1000}; queries=${2:-300}; clients=${3:-16}; seconds=${4:-30}
data=${DATA_DIR:-$EMBEDDINGS_ROOT/../shared/data}
ensure_built
out=$BUILD_DIR/compare-client; mkdir -p "$out"; rm -f "$out"/*.json
flags=$(grep -o -w -E 'avx512_vnni|avx_vnni|avx512f|avx2|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "== CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), flags: $flags"

node="$BUILD_DIR/bench-nodes/compare-client"; http=$((PORT_BASE + 88)); mkdir -p "$node"
NODE_HEAP="-Xms1g -Xmx1g" "$here/node.sh" start "$node" "$http" $((PORT_BASE + 188)) \
  embeddings.query_cache.max_bytes=0b ${NODE_SETTINGS:-} >/dev/null
trap '"$here/node.sh" stop "$node" || true' EXIT
# A warm-up pass before each measured side (a throwaway index, the same model, a few of every request), so no side
# is measured on a node that has just started or a model session that has not run yet; its figures are discarded.
warm=(--docs 200 --queries 50 --clients 4 --seconds 5)
for model in bge-small-en-v1.5-int8 bge-small-en-v1.5; do
  python3 "$here/client.py" --url "http://127.0.0.1:$http" --side ours --model "$model" --index "w-${model//./_}" \
    --data "$data" "${warm[@]}" >/dev/null
  python3 "$here/client.py" --url "http://127.0.0.1:$http" --side ours --model "$model" --index "c-${model//./_}" \
    --data "$data" --docs "$docs" --queries "$queries" --clients "$clients" --seconds "$seconds" | tee "$out/ours-$model.json"
done
"$here/node.sh" stop "$node"; trap - EXIT

model_id=$("$here/mlcommons.sh" start | tail -n1 | sed 's/^MODEL_ID=//')
trap '"$here/mlcommons.sh" stop || true' EXIT
mlc_url="http://127.0.0.1:${MLC_HTTP_PORT:-$((PORT_BASE + 95))}"
python3 "$here/client.py" --url "$mlc_url" --side mlcommons \
  --model-id "$model_id" --index w-mlcommons --data "$data" "${warm[@]}" >/dev/null
python3 "$here/client.py" --url "$mlc_url" --side mlcommons \
  --model-id "$model_id" --index c-mlcommons --data "$data" --docs "$docs" --queries "$queries" \
  --clients "$clients" --seconds "$seconds" | tee "$out/mlcommons.json"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
theirs = json.load(open(f"{out}/mlcommons.json"))
print("\n| | ml-commons fp32 | ours fp32 | ours -int8 | int8 / theirs |\n|---|---|---|---|---|")
ours = {m: json.load(open(f"{out}/ours-{m}.json")) for m in ("bge-small-en-v1.5", "bge-small-en-v1.5-int8")}
for key, label in (("ingest_docs_per_s", "ingest docs/s"), ("p50_ms", "query p50 ms, 1 client"),
                   ("p99_ms", "query p99 ms, 1 client"), ("qps", "queries/s, many clients")):
    a, b, c = theirs[key], ours["bge-small-en-v1.5"][key], ours["bge-small-en-v1.5-int8"][key]
    print(f"| {label} | {a} | {b} | {c} | {c / a:.2f}x |")
for m, figures in ours.items():
    if "many_clients" in figures:
        print(f"ours {m}, many clients, the model's thread: {json.dumps(figures['many_clients'])}")
PY

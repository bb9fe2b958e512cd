#!/usr/bin/env bash
# Builds the plugin, fetches OpenSearch from Maven Central, installs the plugin, starts a node on localhost:9200
# (DEMO_PORT; transport on DEMO_PORT + 100), loads a small demo index through the `embed` pipeline and prints a
# semantic query with its hits. The node keeps running; stop it with: src/scripts/node.sh stop target/demo-node
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
port=${DEMO_PORT:-9200}
echo "== building the plugin for OpenSearch $OPENSEARCH_VERSION (JDK: $JAVA_HOME)"
mvn_build -q verify -DskipTests
echo "== starting OpenSearch $OPENSEARCH_VERSION with the embeddings plugin on http://localhost:$port"
"$here/node.sh" start "$BUILD_DIR/demo-node" "$port" "$((port + 100))"
H=http://localhost:$port
json() { curl -fsS -X "$1" "$H$2" -H 'Content-Type: application/json' ${3:+-d "$3"}; echo; }
json DELETE /demo >/dev/null 2>&1 || true
json PUT /demo '{"mappings": {"properties": {
  "title": {"type": "text"}, "body": {"type": "text"},
  "body_vec": {"type": "embedding", "dims": 384, "similarity": "cosine"}}}}' >/dev/null
json PUT /_ingest/pipeline/demo-embed '{"processors": [
  {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "body_vec"}}}]}' >/dev/null
curl -fsS -X POST "$H/demo/_bulk?pipeline=demo-embed&refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary @- >/dev/null <<'DOCS'
{"index":{"_id":"1"}}
{"title":"Photosynthesis","body":"Plants turn sunlight, water and carbon dioxide into sugar and oxygen in their leaves."}
{"index":{"_id":"2"}}
{"title":"Interest rates","body":"The central bank raised interest rates to slow inflation, and bond yields climbed."}
{"index":{"_id":"3"}}
{"title":"Sourdough","body":"Feed the starter, mix flour and water, let the dough rise overnight and bake it hot."}
{"index":{"_id":"4"}}
{"title":"Volcanoes","body":"Magma rising from the mantle erupts through vents as lava, ash and gas."}
{"index":{"_id":"5"}}
{"title":"Marathon training","body":"Build weekly mileage slowly and add one long run each week before race day."}
{"index":{"_id":"6"}}
{"title":"The heart","body":"The heart pumps blood through arteries and veins, carrying oxygen to the organs."}
{"index":{"_id":"7"}}
{"title":"Black holes","body":"When a massive star collapses, gravity can become so strong that not even light escapes."}
{"index":{"_id":"8"}}
{"title":"Honey bees","body":"Bees collect nectar and pollen, pollinating crops as they move from flower to flower."}
DOCS
QUERY='{"size": 3, "_source": ["title"], "query": {"embed_knn": {"body_vec": {
  "query_text": "how do leaves make food from light", "model": "bge-small-en-v1.5", "k": 3}}}}'
echo "== sample semantic query:"
echo "curl -XPOST '$H/demo/_search' -H 'Content-Type: application/json' -d '$QUERY'"
echo "== hits:"
curl -fsS -X POST "$H/demo/_search" -H 'Content-Type: application/json' -d "$QUERY" \
  | python3 -c 'import json,sys; [print("  %.4f  %s  %s" % (h["_score"], h["_id"], h["_source"]["title"])) for h in json.load(sys.stdin)["hits"]["hits"]]' 2>/dev/null \
  || curl -fsS -X POST "$H/demo/_search" -H 'Content-Type: application/json' -d "$QUERY"
echo "== the node keeps running at $H; stop it with: src/scripts/node.sh stop $BUILD_DIR/demo-node"

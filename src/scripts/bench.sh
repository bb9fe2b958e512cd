#!/usr/bin/env bash
# Benchmarks that print figures (not part of the CI test run).
#   bench.sh batching [MODEL] [DOCS] [ROUNDS]   length-aware batching vs fixed padded batches vs one at a time
#   bench.sh encoder [MODEL...]                 the encoder vs a plain ONNX Runtime loop (texts/s, tokens/s, GFLOP/s)
#   bench.sh node [MODEL] [DOCS]                a real node: ingest vs encoder alone, embed_knn latency at 1/4/16
#                                               clients with and without the query cache, RSS per loaded model
#   bench.sh load [CLIENTS] [DOCS_PER_CLIENT]   concurrent bulk ingest while queries run: every document counted
#   bench.sh compare [DOCS] [QUERIES]           this plugin vs OpenSearch 3.6.0 + ml-commons (src/scripts/mlcommons.sh)
#   bench.sh vectors encode|scifact|million ...  vector formats: quality, latency, bytes (docs/vectors.md)
#   bench.sh int8-recipes MODEL [RECIPE...]     which layers stay fp32: quality and speed of each int8 recipe vs fp32
#   bench.sh int8-build [MODEL...]              what building <name>-int8 costs at load, and whether its cache pays
#   bench.sh int8 [MODEL] [DOCS] [SENTENCES] [ROUNDS]  a real node, one run: -int8 vs fp32 docs/s through _bulk + embed
#                                               on SciFact documents and texts/s on STSB sentences, interleaved rounds
#   bench.sh op-profile [MODEL]                 ONNX Runtime's profiler: fp32 and int8 time per operator type, one
#                                               query alone, 32 sentences, 8 documents
#   bench.sh layer-norm [ROWS] [WIDTH] [ROUNDS]  ONNX Runtime's LayerNormalization vs SkipLayerNormalization kernels
#   bench.sh highlight [MODEL] [DOCS] [QUERIES] [SIZE]  a real node: what the embedding highlighter costs per hit,
#                                               on stored passages and with encode_sentences (docs/passages.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
what=${1:?usage: bench.sh batching|encoder|node|load|compare ...}; shift
case "$what" in node|load|compare|vectors|int8|highlight) ensure_built ;; esac
cp=$(test_classpath)
props=($(java_props bench-nodes))
case "$what" in
  encoder) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.EncoderBench "$@" ;;
  node) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.NodeBench "$@" ;;
  load) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.LoadBench "$@" ;;
  compare) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.CompareBench "$@" ;;
  vectors) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.VectorsBench "$@" ;;
  int8) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8SpeedBench "$@" ;;
  int8-build) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8BuildBench "$@" ;;
  int8-recipes) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8RecipeBench "$@" ;;
  op-profile) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.OpProfileBench "$@" ;;
  layer-norm) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.LayerNormBench "$@" ;;
  highlight) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.HighlightBench "$@" ;;
  batching) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.BatchingBench "$@" ;;
  *) echo "unknown benchmark [$what]" >&2; exit 2 ;;
esac

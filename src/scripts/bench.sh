#!/usr/bin/env bash
# Benchmarks that print figures (not part of the CI test run).
#   bench.sh batching [MODEL] [DOCS] [ROUNDS]   length-aware batching vs fixed padded batches vs one at a time
#   bench.sh encoder [MODEL...]                 the encoder vs a plain ONNX Runtime loop (texts/s, tokens/s, GFLOP/s)
#   bench.sh node [MODEL] [DOCS]                a real node: ingest vs encoder alone, embed_knn latency at 1/4/16
#                                               clients with and without the query cache, RSS per loaded model
#   bench.sh load [CLIENTS] [DOCS_PER_CLIENT]   concurrent bulk ingest while queries run: every document counted
#   bench.sh pressure-queries [SEARCHES] [KB]   a 768 MB node: idle embed_knn p50, a first query naming an unbound
#                                               -int8 model while a client runs, SEARCHES distinct KB-sized query
#                                               texts, documents under constant queries (PressureBench)
#   bench.sh compare [DOCS] [QUERIES]           this plugin vs OpenSearch 3.6.0 + ml-commons (src/scripts/mlcommons.sh)
#   bench.sh vectors encode|scifact|million ...  vector formats: quality, latency, bytes (docs/vectors.md)
#   bench.sh int8-recipes MODEL [RECIPE...]     which layers stay fp32: quality and speed of each int8 recipe vs fp32
#   bench.sh int8-build [MODEL...]              what building <name>-int8 costs at load, and whether its cache pays
#   bench.sh int8 [MODEL] [DOCS] [SENTENCES] [ROUNDS]  a real node, one run: -int8 vs fp32 docs/s through _bulk + embed
#                                               on SciFact documents and texts/s on STSB sentences, interleaved rounds
#   bench.sh breakdown [MODEL] [DOCS] [ROUNDS]  a real node: match, query_vector, cached and fresh query_text, embed
#                                               API p50s interleaved; the node's query stage timers; in-process encode
#   bench.sh lone-query [MODEL] [QUERIES]       in process: one query alone under each ONNX Runtime thread setting
#                                               (intra-op 1 or all cores, sleeping or spinning), fp32 and int8;
#                                               then warm against cold (after reading -Dbench.evict.mb=64 MB)
#   bench.sh workers [MODEL] [DOCS] [QUERIES] [ROUNDS]  in process: one worker with all cores' threads vs one worker
#                                               per core of one thread: documents, single queries, query batches
#   bench.sh op-profile [MODEL]                 ONNX Runtime's profiler: fp32 and int8 time per operator type, one
#                                               query alone, 32 sentences, 8 documents
#   bench.sh run-memory [MODEL...]              native memory one run of 128, 256, 512 tokens takes, against the
#                                               estimate embeddings.onnx.max_run_memory is checked with (RunMemory)
#   bench.sh layer-norm [ROWS] [WIDTH] [ROUNDS]  ONNX Runtime's LayerNormalization vs SkipLayerNormalization kernels
#   bench.sh ingest-heap [MODEL]                the heap of one in-flight embed document, by how its vector is held
#   bench.sh ingest-ab BASELINE_ZIP [DOCS] [ROUNDS]  this build vs another build's zip, two nodes, interleaved rounds:
#                                               ingest docs/s (_bulk + embed) and embed_knn p50
#   bench.sh pressure-bulk [DOCS]               a real node with a 768 MB heap and three models: one _bulk of DOCS
#                                               (100,000) one-word documents through embed; items, heap, node alive
#   bench.sh highlight [MODEL] [DOCS] [QUERIES] [SIZE]  a real node: what the embedding highlighter costs per hit,
#                                               on stored passages and with encode_sentences (docs/passages.md)
#   bench.sh scale-out [DOCS]                   4 real nodes by role: a data node without model files, ingest nodes
#                                               pinned to a core each, a coordinating-only node; ingest docs/s through
#                                               one and two ingest nodes (DOCS SciFact documents, 1000), interleaved;
#                                               embed_knn through the coordinating node and the data node (ScaleOutBench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
what=${1:?usage: bench.sh batching|encoder|node|load|compare ...}; shift
case "$what" in node|load|compare|vectors|int8|breakdown|pressure-bulk|pressure-queries|ingest-ab|highlight|scale-out) ensure_built ;; esac
cp=$(test_classpath)
props=($(java_props bench-nodes))
case "$what" in
  encoder) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.EncoderBench "$@" ;;
  node) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.NodeBench "$@" ;;
  load) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.LoadBench "$@" ;;
  pressure-queries) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.PressureBench "$@" ;;
  compare) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.CompareBench "$@" ;;
  vectors) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.VectorsBench "$@" ;;
  int8) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8SpeedBench "$@" ;;
  int8-build) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8BuildBench "$@" ;;
  int8-recipes) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.Int8RecipeBench "$@" ;;
  lone-query) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.LoneQueryBench "$@" ;;
  breakdown) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.BreakdownBench "$@" ;;
  workers) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.WorkersBench "$@" ;;
  op-profile) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.OpProfileBench "$@" ;;
  run-memory) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.RunMemoryBench "$@" ;;
  layer-norm) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.LayerNormBench "$@" ;;
  ingest-heap) exec java ${BENCH_OPTS:-} --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.time=ALL-UNNAMED "${props[@]}" -cp "$cp" org.embeddings.bench.IngestHeapBench "$@" ;;
  ingest-ab) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.IngestAbBench "$@" ;;
  scale-out) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.ScaleOutBench "$@" ;;
  pressure-bulk) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.PressureBulkBench "$@" ;;
  highlight) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.HighlightBench "$@" ;;
  batching) exec java ${BENCH_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.bench.BatchingBench "$@" ;;
  *) echo "unknown benchmark [$what]" >&2; exit 2 ;;
esac

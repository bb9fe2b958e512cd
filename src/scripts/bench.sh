#!/usr/bin/env bash
# Benchmarks that print figures (not part of the CI test run).
#   bench.sh batching [MODEL] [DOCS] [ROUNDS]   length-aware batching vs fixed padded batches vs one at a time
#   bench.sh encoder [MODEL...]                 the encoder vs a plain ONNX Runtime loop (texts/s, tokens/s, GFLOP/s)
#   bench.sh node [MODEL] [DOCS]                a real node: ingest vs encoder alone, embed_knn latency at 1/4/16
#                                               clients with and without the query cache, RSS per loaded model
#   bench.sh load [CLIENTS] [DOCS_PER_CLIENT]   concurrent bulk ingest while queries run: every document counted
#   bench.sh compare [DOCS] [QUERIES]           this plugin vs OpenSearch 3.6.0 + ml-commons (src/scripts/mlcommons.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/java-home.sh"
cd "$here/../.."
mvn -B -ntp -q generate-resources test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
cp="target/test-classes:target/classes:$(cat target/test-classpath.txt)"
what=${1:?usage: bench.sh batching [MODEL] [DOCS] [ROUNDS]}; shift
case "$what" in
  encoder) exec java ${BENCH_OPTS:-} -Dembeddings.test.models="$PWD/target/models" -Dembeddings.data="${DATA_DIR:-$PWD/../shared/data}" -cp "$cp" org.embeddings.bench.EncoderBench "$@" ;;
  node)
    [ -f target/releases/embeddings-0.1.0.zip ] || mvn -B -ntp -q verify -DskipTests
    exec java ${BENCH_OPTS:-} -Dembeddings.test.models="$PWD/target/models" -Dembeddings.data="${DATA_DIR:-$PWD/../shared/data}" -Dembeddings.work.dir="$PWD/target/bench-nodes" -cp "$cp" org.embeddings.bench.NodeBench "$@" ;;
  load)
    [ -f target/releases/embeddings-0.1.0.zip ] || mvn -B -ntp -q verify -DskipTests
    exec java -Dembeddings.work.dir="$PWD/target/bench-nodes" -cp "$cp" org.embeddings.bench.LoadBench "$@" ;;
  compare)
    [ -f target/releases/embeddings-0.1.0.zip ] || mvn -B -ntp -q verify -DskipTests
    exec java -Dembeddings.data="${DATA_DIR:-$PWD/../shared/data}" -Dembeddings.work.dir="$PWD/target/bench-nodes" -cp "$cp" org.embeddings.bench.CompareBench "$@" ;;
  batching) exec java -Dembeddings.test.models="$PWD/target/models" -Dembeddings.data="${DATA_DIR:-$PWD/../shared/data}" -cp "$cp" org.embeddings.bench.BatchingBench "$@" ;;
  *) echo "unknown benchmark [$what]" >&2; exit 2 ;;
esac

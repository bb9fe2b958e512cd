#!/usr/bin/env bash
# Benchmarks that print figures (not part of the CI test run).
#   bench.sh batching [MODEL] [DOCS] [ROUNDS]   length-aware batching vs fixed padded batches vs one at a time
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/java-home.sh"
cd "$here/../.."
mvn -B -ntp -q generate-resources test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
cp="target/test-classes:target/classes:$(cat target/test-classpath.txt)"
what=${1:?usage: bench.sh batching [MODEL] [DOCS] [ROUNDS]}; shift
case "$what" in
  batching) exec java -Dembeddings.test.models="$PWD/target/models" -Dembeddings.data="${DATA_DIR:-$PWD/../shared/data}" -cp "$cp" org.embeddings.bench.BatchingBench "$@" ;;
  *) echo "unknown benchmark [$what]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Builds the plugin for each OpenSearch release and runs the end-to-end smoke test on a real node of that release.
#   matrix.sh [VERSION...]   default: the releases in MATRIX_VERSIONS below
# Each version builds into target/matrix/<version>/ (its own classes, zip and distribution), so versions never mix;
# the zip is target/matrix/<version>/releases/embeddings-<plugin version>-os<version>.zip. MATRIX_TESTS selects the
# real-node test classes (default NodeEndToEndIT); the exit status is non-zero if any version failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MATRIX_VERSIONS="3.6.0 3.7.0 3.8.0"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || read -r -a versions <<<"$MATRIX_VERSIONS"
results=()
failed=0
for v in "${versions[@]}"; do
  build="$root/target/matrix/$v"
  log="$root/target/matrix/$v.log"
  mkdir -p "$build"
  echo "== OpenSearch $v: building into $build and running ${MATRIX_TESTS:-NodeEndToEndIT} (log: $log)"
  start=$(date +%s)
  if OPENSEARCH_VERSION=$v EMBEDDINGS_BUILD_DIR=$build "$here/test.sh" -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
      -Dit.test="${MATRIX_TESTS:-NodeEndToEndIT}" >"$log" 2>&1; then
    outcome=passed
  else
    outcome=FAILED
    failed=1
    grep -E "Tests run:|FAIL|ERROR\]" "$log" | head -n 20 >&2
  fi
  tests=$(grep -E "^\[INFO\] Tests run:|^\[ERROR\] Tests run:" "$log" | tail -n 1 | sed 's/^\[[A-Z]*\] //')
  zip=$(ls "$build"/releases/*.zip 2>/dev/null | head -n 1)
  results+=("| $v | $outcome | ${tests:-no tests ran} | $(( $(date +%s) - start )) s | ${zip#$root/} |")
done
echo
echo "| OpenSearch | smoke test | tests | time | plugin zip |"
echo "|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit $failed

#!/usr/bin/env bash
# Runs every test: encoder unit tests and in-JVM node tests (Surefire), then end-to-end tests against real OpenSearch
# nodes started from the distribution with the freshly built plugin zip installed (Failsafe). OPENSEARCH_VERSION
# selects the release (default: the pom's); extra arguments go to Maven.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
mvn_build verify "$@"

#!/usr/bin/env bash
# Runs every test: encoder unit tests and in-JVM node tests (Surefire), then end-to-end tests against a real
# OpenSearch 3.8.0 node started from the distribution with the freshly built plugin zip installed (Failsafe).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/java-home.sh"
cd "$here/../.."
exec mvn -B -ntp verify "$@"

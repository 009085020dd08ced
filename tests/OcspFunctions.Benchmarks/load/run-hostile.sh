#!/usr/bin/env bash
# Hostile-input run only: the same setup as run-load.sh (build, demo PKI, refresh, serve), no wrk measurements.
#   tests/OcspFunctions.Benchmarks/load/run-hostile.sh [--hostile-count N] [--keep]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/run-load.sh" --no-load "$@"

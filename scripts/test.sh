#!/usr/bin/env bash
# The project's test command (README): every test, with the race detector.
# Root-only tests (network namespaces, TPROXY) run when root; with CI set
# they fail instead of skipping when they cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -count=1 -timeout 60m ./...

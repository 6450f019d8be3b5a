#!/usr/bin/env bash
# The whole test suite on a busy machine: two CPU hogs (stress-ng) run beside it, as on a shared
# CI runner or a laptop doing other work. The suite waits on events, not sleeps, so it must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v stress-ng >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null
fi

HOGS="${HOGS:-2}"
stress-ng --cpu "$HOGS" --quiet &
hogs=$!
trap 'kill "$hogs" 2>/dev/null || true; wait "$hogs" 2>/dev/null || true' EXIT
make test PYTEST_ARGS="${PYTEST_ARGS:-}"

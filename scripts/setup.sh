#!/usr/bin/env bash
# What `make run`, `make test` and .ci/run need from the machine, installed when missing (as root, from Debian's
# packages) or named in the one command to run. Usage: scripts/setup.sh [postgresql]
set -euo pipefail

need=()
for tool in gcc make curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
command -v chromium >/dev/null || need+=(chromium)          # browser tests (Playwright drives Debian's Chromium)
command -v redis-server >/dev/null || need+=(redis-server)  # the shared-cache tests run a private one
command -v prometheus >/dev/null || need+=(prometheus)      # tests/ops/test_prometheus.py scrapes Truss with it
command -v python3.11 >/dev/null || command -v python3 >/dev/null || need+=(python3 python3-venv)
for extra in "$@"; do
  case "$extra" in
    postgresql) command -v pg_ctlcluster >/dev/null || need+=(postgresql) ;;
    *) echo "scripts/setup.sh: unknown extra '$extra'" >&2; exit 2 ;;
  esac
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages. Run once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "[setup] apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Go builds the pinned Hydra and Kratos (scripts/ory-build.sh); Debian's own Go is older than their go.mod asks.
if [ -z "${HYDRA_BIN:-}${KRATOS_BIN:-}" ] && ! command -v go >/dev/null; then
  echo "Go is missing: install Go >= 1.26 from go.dev (or set HYDRA_BIN and KRATOS_BIN to existing binaries)." >&2
  exit 1
fi

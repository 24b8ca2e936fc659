#!/usr/bin/env bash
# One command from a fresh clone: install what is needed, then run the demo
# (the bundled nfcapd file, DNS capture and Blue Coat log ingested into
# Parquet tables, then one summary query per table).
#   bash scripts/demo.sh [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for tool in nfdump tshark; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "demo: installing ${missing[*]} (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules/@duckdb ]; then
  # npm itself may run on an older system Node; it then warns (EBADENGINE) about every package that wants
  # Node 24. Harmless: spot-ingest runs on the Node 24 that this install brings (the `node` devDependency).
  echo "demo: installing npm packages (spot-ingest runs on the Node 24 this brings, whatever Node runs npm)"
  npm ci --no-audit --no-fund --loglevel=error
fi
exec npx spot-ingest demo "$@"

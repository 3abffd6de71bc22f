#!/usr/bin/env bash
# ExternalSecret benchmark: time-to-all-synced and peak RSS of the real `sealbox controller`
# (release build) for N ExternalSecrets against the API double + moto.
# Usage: bench/eso.sh [COUNT...]        (default: 1000 2500 5000)
# Prints one JSON line per count; numbers go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@"); [ ${#counts[@]} -gt 0 ] || counts=(1000 2500 5000)
cargo build --release --locked -p sealbox -p sealbox-tests --bin sealbox --bin sealbox-eso-bench >&2
port=45679
url="$(scripts/peers/moto.sh start "$port")"
trap 'scripts/peers/moto.sh stop "$port" >/dev/null 2>&1 || true' EXIT
for n in "${counts[@]}"; do
  curl -fsS -X POST "$url/moto-api/reset" >/dev/null
  target/release/sealbox-eso-bench --count "$n" --moto "$url" --sealbox target/release/sealbox
done

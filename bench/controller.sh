#!/usr/bin/env bash
# Controller benchmark: N (default 10,000) one-value SealedSecrets, cold start to all
# synced against the API double, release build; peak RSS of the controller; and the
# same run's `openssl speed rsa4096` private-operation time for the goal
#   time <= 1.3 x (N x t_rsa4096_private / 2 cores).
# Usage: bench/controller.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p sealbox -p sealbox-tests --bin sealbox --bin sealbox-kube-double
bin=target/release

"$bin/sealbox" crds > "$work/crds.yaml"
"$bin/sealbox-kube-double" --port 0 --kubeconfig-out "$work/kubeconfig" --crd "$work/crds.yaml" > "$work/double.out" &
pids+=($!)
for _ in $(seq 100); do grep -q "^listening on" "$work/double.out" 2>/dev/null && break; sleep 0.1; done
api="$(sed -n 's/^listening on //p' "$work/double.out")"

curl -sf -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"bench"}}' "$api/api/v1/namespaces" > /dev/null
# The fixture keys, restored from their Bitnami backup (key 1 seals every object).
python3 - "$api" <<'PY'
import json, sys, yaml
from urllib.request import Request, urlopen
backup = yaml.safe_load(open("tests/fixtures/sealed-secrets/sealing-keys-backup.yaml"))
for item in backup["items"]:
    urlopen(Request(sys.argv[1] + "/api/v1/namespaces/kube-system/secrets",
                    data=json.dumps(item).encode(), headers={"Content-Type": "application/json"})).read()
PY

python3 bench/gen_sealed.py tests/fixtures/sealed-secrets/sealing-key-1.cert.pem "$N" > "$work/list.json"
python3 - "$api" "$work/list.json" <<'PY'
import json, sys
from urllib.request import Request, urlopen
api, path = sys.argv[1], sys.argv[2]
for item in json.load(open(path))["items"]:
    urlopen(Request(api + "/apis/bitnami.com/v1alpha1/namespaces/bench/sealedsecrets",
                    data=json.dumps(item).encode(), headers={"Content-Type": "application/json"})).read()
PY

mport="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
aport="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
start=$(date +%s.%N)
KUBECONFIG="$work/kubeconfig" POD_NAMESPACE=kube-system "$bin/sealbox" controller \
  --listen-addr "127.0.0.1:$aport" --listen-metrics-addr "127.0.0.1:$mport" \
  --key-renew-period 0 --log-level ERROR > "$work/controller.log" 2>&1 &
ctl=$!; pids+=($ctl)
peak=0
while true; do
  created="$(curl -sf "http://127.0.0.1:$mport/metrics" | sed -n 's/^sealbox_reconciles_total{result="created"} //p' || true)"
  rss="$(awk '/VmHWM/ {print $2}' /proc/$ctl/status 2>/dev/null || echo 0)"
  [ "${rss:-0}" -gt "$peak" ] && peak="$rss"
  [ "${created:-0}" = "$N" ] && break
  sleep 0.2
done
end=$(date +%s.%N)
elapsed=$(python3 -c "print(round($end-$start,2))")
rsa_ops="$(curl -sf "http://127.0.0.1:$mport/metrics" | sed -n 's/^sealbox_rsa_private_operations_total //p')"

# openssl: median of 3 runs of the RSA-4096 private operation (sign) time, one core.
ossl=()
for _ in 1 2 3; do
  ossl+=("$(openssl speed -seconds 3 rsa4096 2>/dev/null | awk '/^rsa 4096 bits/ {print $4}' | tr -d 's')")
done
t_priv="$(printf '%s\n' "${ossl[@]}" | sort -g | sed -n 2p)"
goal=$(python3 -c "print(round(1.3*$N*$t_priv/2,2))")
ratio=$(python3 -c "print(round($elapsed/($N*$t_priv/2),2))")
echo "objects=$N elapsed_s=$elapsed rsa_private_ops=$rsa_ops peak_rss_mb=$((peak/1024)) openssl_rsa4096_private_s=$t_priv (median of: ${ossl[*]}) goal_s=$goal ratio_to_ideal=$ratio"

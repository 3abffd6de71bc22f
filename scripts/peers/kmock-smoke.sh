#!/usr/bin/env bash
# Smoke test: the real `sealbox controller` binary against the third-party emulator kmock
# (PyPI kmock 0.8, installed into a private virtualenv). One key Secret (from the fixture
# Bitnami backup) and one SealedSecret go in; the Secret must come out with the expected
# data. kmock cannot check (see docs/controller.md "kmock"): SSA field ownership and
# conflicts, status-subresource isolation, resourceVersion conflicts, selectors, watch
# resume/410, metadata-only watches, garbage collection.
# Usage: scripts/peers/kmock-smoke.sh   (needs target/debug/sealbox; exits non-zero on failure)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${SEALBOX_KMOCK_VENV:-$HOME/.cache/sealbox/kmock-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kmock' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "kmock==0.8"
fi
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
"$venv/bin/python" tests/tools/kmock_server.py > "$work/url" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(head -1 "$work/url")"
cat > "$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: kmock, cluster: {server: "$url"}}]
contexts: [{name: kmock, context: {cluster: kmock, user: kmock}}]
current-context: kmock
users: [{name: kmock, user: {}}]
KC
"$venv/bin/python" - "$url" <<'PY'
import json, sys, urllib.request
try:
    import yaml
except ImportError:
    yaml = None
url = sys.argv[1]
def post(path, obj):
    req = urllib.request.Request(url + path, data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()
fix = "tests/fixtures/sealed-secrets/"
import base64
key = open(fix + "sealing-key-1.key.pem", "rb").read()
crt = open(fix + "sealing-key-1.cert.pem", "rb").read()
post("/api/v1/namespaces/kube-system/secrets", {
    "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
    "metadata": {"name": "sealed-secrets-keyt4k9d", "namespace": "kube-system",
                 "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
    "data": {"tls.key": base64.b64encode(key).decode(), "tls.crt": base64.b64encode(crt).decode()}})
post("/apis/bitnami.com/v1alpha1/namespaces/shared/sealedsecrets",
     json.load(open(fix + "cluster-wide.json")))
PY
KUBECONFIG="$work/kubeconfig" POD_NAMESPACE=kube-system target/debug/sealbox controller \
  --listen-addr 127.0.0.1:0 --listen-metrics-addr 127.0.0.1:0 --key-renew-period 0 \
  --log-format json > "$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 150); do
  if curl -sf "$url/api/v1/namespaces/shared/secrets/registry-creds" > "$work/secret.json" 2>/dev/null; then break; fi
  sleep 0.2
done
[ -s "$work/secret.json" ] || { echo "kmock smoke: no Secret; controller log:" >&2; tail -n 30 "$work/controller.log" >&2; exit 1; }
"$venv/bin/python" - "$work/secret.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
want = "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiZFhObGNqcHdZWE56In19fQ=="
assert s["data"][".dockerconfigjson"] == want, "wrong data"
assert s["type"] == "kubernetes.io/dockerconfigjson"
print("kmock smoke: OK — Secret shared/registry-creds unsealed by the sealbox controller")
PY

#!/usr/bin/env bash
# Build the seed corpora of every fuzz target from the repository's own fixture copies
# (tests/fixtures/sealed-secrets, tests/fixtures/certs, keys/tests/fixtures/{sops,template}).
#
#   fuzz/seed.sh [OUT_DIR]        # default: fuzz/corpus (git-ignored; never committed)
#
# Needs bash, coreutils, grep, sed, base64 and jq. The corpora are small (a few hundred
# files); libFuzzer grows them in place while it runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$here/corpus}
ss=$root/tests/fixtures/sealed-secrets
certs=$root/tests/fixtures/certs
sops=$root/keys/tests/fixtures/sops
tpl=$root/keys/tests/fixtures/template

# copy TARGET FILE... : each file becomes one seed named after its repository path.
copy() {
    local target=$1
    shift
    mkdir -p "$out/$target"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$out/$target/$(printf '%s' "${f#"$root"/}" | tr '/' '_')"
    done
}

# seed TARGET NAME : a seed from stdin.
seed() {
    mkdir -p "$out/$1"
    cat >"$out/$1/$2"
}

# --- sealed_envelope: selector byte (see the target) + the raw blob --------------------------
# 0x00 = 4096-bit key1 with label "demo/db-credentials", 0x02 = "team-a", 0x04 = "" (cluster).
envelope_seeds() {
    local file=$1 selector=$2 n=0 value
    for value in $(grep -oE 'Ag[A-Za-z0-9+/]{40,}={0,2}' "$file"); do
        n=$((n + 1))
        { printf "\\x$selector"; printf '%s' "$value" | base64 -d; } \
            | seed sealed_envelope "$(basename "$file").$n"
    done
}
envelope_seeds "$ss/strict.yaml" 00
envelope_seeds "$ss/namespace-wide.yaml" 02
envelope_seeds "$ss/cluster-wide.json" 04
envelope_seeds "$ss/negative/tampered.yaml" 00
printf '\x01\x01\x00' | seed sealed_envelope short-2048

# --- SealedSecret manifests and key backups ------------------------------------------------
copy sealed_manifest "$ss"/*.yaml "$ss"/*.json "$ss"/negative/*.yaml
copy backup_import "$ss/sealing-keys-backup.yaml" "$ss"/*.pem "$certs"/*.pem
cat "$ss/sealing-key-0.key.pem" "$ss/sealing-key-0.cert.pem" | seed backup_import key-and-cert.pem

# --- SOPS stores -----------------------------------------------------------------------------
mapfile -t yaml_files < <(find "$sops" -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
mapfile -t json_files < <(find "$sops" -type f -name '*.json' | sort)
mapfile -t env_files < <(find "$sops" -type f -name '*.env' | sort)
mapfile -t ini_files < <(find "$sops" -type f -name '*.ini' | sort)
mapfile -t bin_files < <(find "$sops" -type f -name '*.bin' | sort)
copy sops_yaml "${yaml_files[@]}"
copy sops_json "${json_files[@]}"
copy sops_dotenv "${env_files[@]}"
copy sops_ini "${ini_files[@]}"
# The binary store reads a JSON envelope when encrypted and any bytes when plain.
copy sops_binary "${bin_files[@]}" "$sops/blob.enc.bin"

# sops_metadata: the `sops` object of every encrypted JSON file, and the flattened
# dotenv/INI form (prefix removed) of every encrypted .env file.
for f in "${json_files[@]}" "${bin_files[@]}"; do
    if jq -e '.sops' "$f" >/dev/null 2>&1; then
        jq '.sops' "$f" | seed sops_metadata "$(basename "$f").sops.json"
    fi
done
for f in "${env_files[@]}"; do
    if grep -q '^sops_' "$f"; then
        grep '^sops_' "$f" | sed 's/^sops_//' | seed sops_metadata "$(basename "$f").flat"
    fi
done

# --- .sops.yaml -----------------------------------------------------------------------------
copy sops_config "$sops"/configs/*.yaml
seed sops_config minimal.yaml <<'YAML'
creation_rules:
  - path_regex: \.dev\.yaml$
    age: age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds
  - path_regex: prod/.*
    encrypted_regex: ^(data|stringData)$
    key_groups:
      - age: [age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds]
        merge:
          - pgp: [FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4]
stores:
  yaml: {indent: 2}
  json: {indent: -1}
YAML

# --- tree paths (`--extract`, `set`, `unset`) ------------------------------------------------
printf '%s\n%s' '["a"]["b"][0]' '"x"' | seed sops_tree_path index
printf '%s\n%s' "['a']['b'][2]['c']" '{"k": [1, 2.5, true, null]}' | seed sops_tree_path nested
printf '%s\n%s' '["d"]' 'null' | seed sops_tree_path top
printf '%s\n%s' '["a"]["b"][99]["new"]' '[]' | seed sops_tree_path append

# --- templates ------------------------------------------------------------------------------
copy template "$tpl"/*.yaml "$ss/strict-template.yaml"
n=0
while IFS= read -r line; do
    n=$((n + 1))
    printf '%s' "$line" | seed template "construct-$n"
done <<'TEMPLATES'
{{ .a }}-{{ index . "b" | b64enc }}
{{ if eq .a "1" }}one{{ else if .b }}b{{ else }}none{{ end }}
{{ range $k, $v := . }}{{ $k }}={{ $v | quote }};{{ end }}
{{ with .missing }}{{ . }}{{ else }}default{{ end }}
{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" .a }}{{ block "u" . }}u{{ end }}
{{- /* comment */ -}} {{ printf "%q %v %d %x" .a 1 2 "s" }}
{{ toJson . }} {{ .a | upper | repeat 3 | trunc 5 }} {{ list 1 2 3 | join "," }}
{{ dict "k" .a | toYaml }} {{ sha256sum .a }} {{ regexReplaceAll "[0-9]" .a "x" }}
{{ $x := 1 }}{{ range until 5 }}{{ $x = add $x . }}{{ end }}{{ $x }}
{{ (pemToPkcs8 .a) | default "none" }} {{ .a | filterPEM "CERTIFICATE" }}
{{ now | date "2006-01-02" }} {{ "a,b" | splitList "," | first }}
TEMPLATES

# --- KRM ResourceList / generator configs (sealbox krm, KSOPS) ------------------------------
seed krm_resource_list function-config.yaml <<'YAML'
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: keep}
  data: {a: "1"}
functionConfig:
  apiVersion: sealbox.dev/v1alpha1
  kind: SopsGenerator
  metadata: {name: gen}
  files: [./secret.enc.yaml]
YAML
seed krm_resource_list ksops-item.yaml <<'YAML'
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: viaduct.ai/v1
  kind: ksops
  metadata:
    name: app
    annotations: {config.kubernetes.io/function: "exec:\n  path: ksops\n"}
  secretFrom:
  - metadata: {name: app, annotations: {kustomize.config.k8s.io/needs-hash: "true"}}
    type: Opaque
    files: [./app.enc.conf, config.yaml=./cfg.enc.yaml]
    binaryFiles: [./cert.enc.p12]
    envs: [./app.enc.env]
YAML
seed krm_resource_list legacy-config.yaml <<'YAML'
apiVersion: viaduct.ai/v1
kind: ksops
metadata: {name: legacy}
files: [a.enc.yaml, b.enc.json]
---
apiVersion: sealbox.dev/v1alpha1
kind: SopsGenerator
metadata: {name: second}
secretFrom: [{metadata: {name: s}, files: [k=v]}]
YAML
printf '# c\nexport A=1\nB="two\\nlines"\nC=\x27single\x27\n' | seed krm_resource_list env-file

for dir in "$out"/*/; do
    printf '%-18s %4d seeds\n' "$(basename "$dir")" "$(find "$dir" -type f | wc -l)"
done

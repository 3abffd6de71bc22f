#!/usr/bin/env python3
"""Open Sealed Secrets values without sealbox: an independent check of what `sealbox seal`
writes, used by the Rust integration tests.

Value format (Bitnami Sealed Secrets, pkg/crypto/crypto.go):

    base64std( u16be(len R) || R || C )
    R = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(32-byte AES key)
    C = AES-256-GCM(that key, nonce = 12 zero bytes, no AAD)(plaintext) || 16-byte tag
    label: strict "<ns>/<name>", namespace-wide "<ns>", cluster-wide ""

Reads a JSON job on stdin:
    {"keys": ["key.pem", ...], "items": [{"id": "...", "label": "...", "ciphertext_b64": "..."}]}
and prints [{"id": ..., "ok": true|false, "plaintext_b64": ...}] on stdout.

    ss_open.py            RSA and AES steps with pyca/cryptography
    ss_open.py --openssl  RSA step with the `openssl pkeyutl` CLI, AES-GCM with pyca

Needs the Debian package python3-cryptography (or PyPI `cryptography`) and, for
--openssl, the openssl CLI.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = bytes(12)


def split(blob):
    if len(blob) < 2:
        raise ValueError("too short")
    (n,) = struct.unpack(">H", blob[:2])
    if len(blob) < 2 + n:
        raise ValueError("too short")
    return blob[2 : 2 + n], blob[2 + n :]


def rsa_pyca(key_paths, wrapped, label):
    for path in key_paths:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        try:
            return key.decrypt(
                wrapped,
                padding.OAEP(
                    mgf=padding.MGF1(algorithm=hashes.SHA256()),
                    algorithm=hashes.SHA256(),
                    label=label or None,
                ),
            )
        except ValueError:
            continue
    return None


def rsa_openssl(key_paths, wrapped, label):
    with tempfile.NamedTemporaryFile(delete=False) as tf:
        tf.write(wrapped)
        name = tf.name
    try:
        for path in key_paths:
            cmd = [
                "openssl", "pkeyutl", "-decrypt", "-inkey", path, "-in", name,
                "-pkeyopt", "rsa_padding_mode:oaep",
                "-pkeyopt", "rsa_oaep_md:sha256",
                "-pkeyopt", "rsa_mgf1_md:sha256",
            ]
            if label:
                cmd += ["-pkeyopt", "rsa_oaep_label:" + label.hex()]
            result = subprocess.run(cmd, capture_output=True)
            if result.returncode == 0:
                return result.stdout
        return None
    finally:
        os.unlink(name)


def open_value(key_paths, item, use_openssl):
    blob = base64.b64decode(item["ciphertext_b64"], validate=True)
    wrapped, body = split(blob)
    label = item["label"].encode()
    session_key = (rsa_openssl if use_openssl else rsa_pyca)(key_paths, wrapped, label)
    if session_key is None:
        raise ValueError("no key could decrypt")
    return AESGCM(session_key).decrypt(NONCE, body, None)


def main():
    use_openssl = "--openssl" in sys.argv[1:]
    job = json.load(sys.stdin)
    results = []
    for item in job["items"]:
        try:
            plaintext = open_value(job["keys"], item, use_openssl)
            results.append({"id": item["id"], "ok": True,
                            "plaintext_b64": base64.b64encode(plaintext).decode()})
        except Exception as e:  # report, never crash: the Rust test decides
            results.append({"id": item["id"], "ok": False, "error": type(e).__name__})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write N one-value SealedSecrets (strict scope, namespace `bench`) sealed to CERT as a
kubectl-style JSON List on stdout. Public-key operations only (pyca/cryptography):
blob = u16be(len R) || R || AES-256-GCM(zero nonce)(value), R = RSA-OAEP-SHA256(label)."""
import base64, json, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

cert_path, count = sys.argv[1], int(sys.argv[2])
pub = x509.load_pem_x509_certificate(open(cert_path, "rb").read()).public_key()
items = []
for i in range(count):
    name = f"bench-{i:05d}"
    label = f"bench/{name}".encode()
    key = os.urandom(32)
    wrapped = pub.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label))
    body = AESGCM(key).encrypt(b"\0" * 12, f"value-{i}".encode(), None)
    blob = len(wrapped).to_bytes(2, "big") + wrapped + body
    items.append({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                  "metadata": {"name": name, "namespace": "bench"},
                  "spec": {"encryptedData": {"value": base64.b64encode(blob).decode()},
                           "template": {"metadata": {"name": name, "namespace": "bench"}}}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)

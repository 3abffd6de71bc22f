#!/usr/bin/env python3
"""kmock (PyPI `kmock`, a third-party Kubernetes API emulator) as a loopback server for the
controller smoke test (`scripts/peers/kmock-smoke.sh`), so the project's own API double is
not the only judge of the controller.

kmock does not stamp resourceVersion/uid/generation, and kube-rs' watcher refuses events
without a resourceVersion, so writes are stamped here before kmock stores them.
Prints the URL once listening; serves until SIGINT/SIGTERM."""
import argparse
import asyncio
import datetime
import itertools
import signal
import uuid

import kmock
from kmock._internal import enums  # kmock 0.8 exposes no public name for the action enum

RESOURCES = {
    "v1/secrets": dict(kind="Secret", namespaced=True),
    "v1/namespaces": dict(kind="Namespace", namespaced=False),
    "events.k8s.io/v1/events": dict(kind="Event", namespaced=True),
    "coordination.k8s.io/v1/leases": dict(kind="Lease", namespaced=True),
    "bitnami.com/v1alpha1/sealedsecrets": dict(kind="SealedSecret", namespaced=True,
                                               subresources={"status"}),
}


class Stamped(kmock.KubernetesEmulator):
    counter = itertools.count(1)

    async def _handle(self, request):
        if request.resource is not None:
            rv = str(next(self.counter))
            if request.action == enums.action.CREATE and isinstance(request.data, dict):
                meta = request.data.setdefault("metadata", {})
                meta["resourceVersion"] = rv
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("generation", 1)
                meta.setdefault("creationTimestamp", datetime.datetime.now(
                    tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            elif request.action == enums.action.UPDATE:
                if isinstance(request.data, dict):
                    request.data.setdefault("metadata", {})["resourceVersion"] = rv
                elif isinstance(request.data, list):
                    request.data.append({"op": "add", "path": "/metadata/resourceVersion", "value": rv})
        return await super()._handle(request)


async def serve(port: int) -> None:
    async with Stamped() as emu, kmock.Server(emu, host="127.0.0.1", port=port) as srv:
        for res, info in RESOURCES.items():
            emu.resources[res] = kmock.ResourceInfo(
                verbs={"get", "list", "watch", "create", "update", "patch", "delete"}, **info)
        print(f"http://127.0.0.1:{srv.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    asyncio.run(serve(ap.parse_args().port))

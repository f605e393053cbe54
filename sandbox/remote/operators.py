"""What the GPU/ML operators would have installed on a real cluster before gpuctl runs: the
CRDs the sandbox preinstalls (KubeRay, Kubeflow, Kueue, the GPU Operator's ClusterPolicy)
and the operator namespace, waited for until every CRD is Established."""

from __future__ import annotations

import time
from pathlib import Path

from sandbox.api.crds import preinstalled
from sandbox.remote.rest import Rest, RestError

OPERATOR_NAMESPACES = ("gpu-operator",)
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISH_TIMEOUT_S = 60.0


def _established(crd: dict[str, object]) -> bool:
    status = crd.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(
        isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
        for c in conditions or []
    )


def install_operators(kubeconfig: Path) -> None:
    """Create the operators' CRDs and namespaces (existing ones are kept) and wait until the
    CRDs are served."""
    rest = Rest(kubeconfig)
    try:
        for crd in preinstalled():
            _create(rest, CRD_PATH, crd)
        for name in OPERATOR_NAMESPACES:
            _create(
                rest,
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )
        names = {crd["metadata"]["name"] for crd in preinstalled()}
        deadline = time.monotonic() + ESTABLISH_TIMEOUT_S
        while True:
            items = rest.request("GET", CRD_PATH).get("items") or []
            if all(_established(c) for c in items if c["metadata"]["name"] in names):
                return
            if time.monotonic() > deadline:
                raise RestError(
                    0, "Timeout", f"operator CRDs not Established within {ESTABLISH_TIMEOUT_S:g}s"
                )
            time.sleep(0.1)
    finally:
        rest.close()


def _create(rest: Rest, path: str, obj: dict[str, object]) -> None:
    try:
        rest.request("POST", path, obj)
    except RestError as exc:
        if exc.code != 409:
            raise

"""The Deployment and ReplicaSet controllers, and garbage collection of what they own.

A Deployment owns one ReplicaSet per pod template (named `<deployment>-<template hash>`, the
hash also labelled `pod-template-hash` on its pods); the current one is scaled to
`spec.replicas` and older ones to zero at once (no surge: rollouts behave like `Recreate`).
A ReplicaSet creates or deletes pods (`<replicaset>-<suffix>`) until it has `spec.replicas`
live ones, so evicted pods are replaced, as a drain expects. Status counts replicas, ready
and available pods. Pods and ReplicaSets whose controlling owner is gone are deleted
(background propagation)."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.eviction import is_healthy
from sandbox.api.handlers import Api, Request
from sandbox.api.selectors import selector_matches
from sandbox.clock import SandboxClock
from sandbox.gpu.pods import is_terminal
from sandbox.gpu.writer import ComponentWriter

DEPLOYMENTS = ("apps", "deployments")
REPLICASETS = ("apps", "replicasets")
PODS = ("", "pods")
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_SUFFIX[b % len(_SUFFIX)] for b in digest[:10])


def _owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas", 1)
    return value if isinstance(value, int) and value >= 0 else 1


class ReplicationControllers:
    """Deployments → ReplicaSets → Pods, plus garbage collection of orphans."""

    watched = frozenset({DEPLOYMENTS, REPLICASETS, PODS})

    def __init__(self, api: Api, clock: SandboxClock) -> None:
        self._api = api
        self._writer = ComponentWriter(api, "kube-controller-manager")
        self._rs_type = self._writer.rtype("apps", "v1", "replicasets")
        self._deploy_type = self._writer.rtype("apps", "v1", "deployments")
        self._pod_type = self._writer.rtype("", "v1", "pods")

    def reconcile(self, now: float) -> float | None:
        store = self._api.store
        deployments, _ = store.list_objects(DEPLOYMENTS)
        for deployment in deployments:
            self._deployment(deployment)
        replicasets, _ = store.list_objects(REPLICASETS)
        pods, _ = store.list_objects(PODS)
        for replicaset in replicasets:
            self._replicaset(replicaset, pods)
        self._collect_garbage()
        return None

    # ------------------------------------------------------------------ Deployment
    def _deployment(self, deployment: dict[str, Any]) -> None:
        meta = deployment["metadata"]
        if meta.get("deletionTimestamp"):
            return
        spec = deployment.get("spec") or {}
        template = spec.get("template") or {}
        wanted_hash = template_hash(template)
        owned = [
            rs
            for rs in self._api.store.list_objects(REPLICASETS, meta["namespace"])[0]
            if _controller_uid(rs) == meta["uid"]
        ]
        current = next(
            (rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == wanted_hash),
            None,
        )
        if current is None:
            current = self._create_replicaset(deployment, template, wanted_hash)
            if current is None:
                return
        for rs in owned:
            target = _replicas(deployment) if rs is current else 0
            if _replicas(rs) != target:
                scaled = copy.deepcopy(rs)
                scaled["spec"]["replicas"] = target
                self._writer.update(self._rs_type, scaled)
        self._deployment_status(deployment, owned or [current], current)

    def _create_replicaset(
        self, deployment: dict[str, Any], template: dict[str, Any], pod_hash: str
    ) -> dict[str, Any] | None:
        meta = deployment["metadata"]
        template = copy.deepcopy(template)
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
        selector = copy.deepcopy((deployment.get("spec") or {}).get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        labels = {**(template["metadata"].get("labels") or {})}
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "namespace": meta["namespace"],
                "labels": labels,
                "ownerReferences": [_owner_ref(deployment)],
            },
            "spec": {"replicas": _replicas(deployment), "selector": selector, "template": template},
        }
        try:
            return self._api.create(
                Request(self._rs_type, meta["namespace"], params={"fieldManager": "kube-controller-manager"}),
                body,
            )
        except ApiError:
            return None

    def _deployment_status(
        self, deployment: dict[str, Any], owned: list[dict[str, Any]], current: dict[str, Any]
    ) -> None:
        def count(key: str, sets: list[dict[str, Any]]) -> int:
            return sum(int((rs.get("status") or {}).get(key, 0)) for rs in sets)

        wanted = _replicas(deployment)
        available = count("availableReplicas", owned)
        status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": count("replicas", owned),
            "updatedReplicas": count("replicas", [current]),
            "readyReplicas": count("readyReplicas", owned),
            "availableReplicas": available,
            "unavailableReplicas": max(0, wanted - available),
        }
        conditions = [
            {
                "type": "Available",
                "status": "True" if available >= wanted else "False",
                "reason": "MinimumReplicasAvailable" if available >= wanted else "MinimumReplicasUnavailable",
            }
        ]
        old = deployment.get("status") or {}
        if (
            all(old.get(k) == v for k, v in status.items())
            and [{k: c.get(k) for k in ("type", "status", "reason")} for c in old.get("conditions") or []]
            == conditions
        ):
            return
        updated = copy.deepcopy(deployment)
        updated["status"] = {**status, "conditions": conditions}
        self._writer.update(self._deploy_type, updated, "status")

    # ------------------------------------------------------------------ ReplicaSet
    def _replicaset(self, rs: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta = rs["metadata"]
        if meta.get("deletionTimestamp"):
            return
        mine = [
            p
            for p in pods
            if p["metadata"].get("namespace") == meta["namespace"]
            and _controller_uid(p) == meta["uid"]
            and not is_terminal(p)
        ]
        alive = [p for p in mine if not p["metadata"].get("deletionTimestamp")]
        wanted = _replicas(rs)
        for _ in range(wanted - len(alive)):
            self._create_pod(rs)
        if len(alive) > wanted:
            for pod in sorted(alive, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)[
                : len(alive) - wanted
            ]:
                try:
                    self._api.delete(
                        Request(
                            self._pod_type,
                            meta["namespace"],
                            pod["metadata"]["name"],
                            user_agent="kube-controller-manager",
                        )
                    )
                except ApiError:
                    continue
        ready = sum(1 for p in alive if is_healthy(p))
        status = {
            "replicas": len(alive),
            "fullyLabeledReplicas": len(alive),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        if (rs.get("status") or {}) != status:
            updated = copy.deepcopy(rs)
            updated["status"] = status
            self._writer.update(self._rs_type, updated, "status")

    def _create_pod(self, rs: dict[str, Any]) -> None:
        meta = rs["metadata"]
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        pod_meta = template.get("metadata") or {}
        name = f"{meta['name']}-{''.join(secrets.choice(_SUFFIX) for _ in range(5))}"
        labels: dict[str, str] = dict(pod_meta.get("labels") or {})
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": pod_meta.get("annotations") or {},
                "ownerReferences": [_owner_ref(rs)],
            },
            "spec": template.get("spec") or {},
        }
        if not selector_matches((rs.get("spec") or {}).get("selector") or {}, labels):
            return  # the API server rejects such a ReplicaSet; nothing to create from it
        try:
            self._api.create(
                Request(
                    self._pod_type, meta["namespace"], params={"fieldManager": "kube-controller-manager"}
                ),
                body,
            )
        except ApiError:
            return

    # ------------------------------------------------------------------ garbage collection
    def _collect_garbage(self) -> None:
        store = self._api.store
        live_uids = {
            obj["metadata"]["uid"]
            for resource in (DEPLOYMENTS, REPLICASETS)
            for obj in store.list_objects(resource)[0]
        }
        for resource, rtype in ((REPLICASETS, self._rs_type), (PODS, self._pod_type)):
            for obj in store.list_objects(resource)[0]:
                refs = [
                    r
                    for r in obj["metadata"].get("ownerReferences") or []
                    if r.get("controller") and r.get("kind") in ("Deployment", "ReplicaSet")
                ]
                if (
                    refs
                    and refs[0].get("uid") not in live_uids
                    and not obj["metadata"].get("deletionTimestamp")
                ):
                    try:
                        self._api.delete(
                            Request(
                                rtype,
                                obj["metadata"]["namespace"],
                                obj["metadata"]["name"],
                                user_agent="kube-controller-manager",
                            )
                        )
                    except ApiError:
                        continue

"""The Job controller (batch/v1), as kube-controller-manager runs it for the Jobs that Kueue
admits and Kubeflow and users submit.

A Job that is not suspended keeps `min(parallelism, completions - succeeded)` pods running
(named `<job>-<suffix>`, labelled `batch.kubernetes.io/job-name` and `controller-uid`). Pods
that finish count as succeeded or failed; with `completions` succeeded the Job gets
`SuccessCriteriaMet` and `Complete` (and a completionTime), with more than `backoffLimit`
failures `FailureTarget` and `Failed` (reason `BackoffLimitExceeded`) and its running pods are
deleted. `suspend: true` (how Kueue holds a Job until it is admitted) deletes its running pods
and creates none. The pods of a Job this controller saw are deleted when the Job is gone
(background propagation); pods naming a Job that never existed here are left alone (tests
create such pods to stand for a Job's)."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.eviction import is_healthy
from sandbox.api.handlers import Api, Request
from sandbox.clock import SandboxClock
from sandbox.gpu.replication import PODS, _controller_uid, _owner_ref
from sandbox.gpu.writer import ComponentWriter

JOBS = ("batch", "jobs")
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"
_MANAGER = "kube-controller-manager"


def _int(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key)
    return value if isinstance(value, int) and value >= 0 else default


def _finished(job: dict[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)


class JobController:
    """batch/v1 Jobs → Pods, their completions and failures."""

    watched = frozenset({JOBS, PODS})

    def __init__(self, api: Api, clock: SandboxClock) -> None:
        self._api = api
        self._clock = clock
        self._writer = ComponentWriter(api, _MANAGER)
        self._job_type = self._writer.rtype("batch", "v1", "jobs")
        self._pod_type = self._writer.rtype("", "v1", "pods")
        self._seen: set[str] = set()  # uids of the Jobs seen so far

    def reconcile(self, now: float) -> float | None:
        jobs, _ = self._api.store.list_objects(JOBS)
        pods, _ = self._api.store.list_objects(PODS)
        live = {job["metadata"]["uid"] for job in jobs}
        self._seen |= live
        for job in jobs:
            if not job["metadata"].get("deletionTimestamp"):
                uid = job["metadata"]["uid"]
                self._job(job, [p for p in pods if _controller_uid(p) == uid])
        for pod in pods:  # orphans of deleted Jobs
            refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
            uid = refs[0].get("uid") if refs and refs[0].get("kind") == "Job" else None
            if uid in self._seen and uid not in live and not pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
        return None

    def _job(self, job: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        spec = job.get("spec") or {}
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = [p for p, phase in zip(pods, phases, strict=True)
                  if phase not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")]
        completions = _int(spec, "completions", 1)
        parallelism = _int(spec, "parallelism", 1)
        conditions: list[dict[str, Any]] = []
        if _finished(job):
            return
        if succeeded >= completions:
            reason, message = "CompletionsReached", "Reached expected number of succeeded pods"
            conditions = self._conditions(
                ("SuccessCriteriaMet", reason, message), ("Complete", reason, message)
            )
        elif failed > _int(spec, "backoffLimit", 6):
            reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
            conditions = self._conditions(("FailureTarget", reason, message), ("Failed", reason, message))
        if conditions or spec.get("suspend"):
            for pod in active:
                self._delete(pod)
            active = []
        else:
            for _ in range(min(parallelism, completions - succeeded) - len(active)):
                self._create_pod(job)
        counts = {"active": len(active), "succeeded": succeeded, "failed": failed}
        self._status(job, counts, sum(1 for p in active if is_healthy(p)), conditions)

    def _conditions(self, *entries: tuple[str, str, str]) -> list[dict[str, Any]]:
        now = self._clock.timestamp()
        return [{"type": kind, "status": "True", "reason": reason, "message": message,
                 "lastProbeTime": now, "lastTransitionTime": now} for kind, reason, message in entries]

    def _status(
        self, job: dict[str, Any], counts: dict[str, int], ready: int, conditions: list[dict[str, Any]]
    ) -> None:
        old = job.get("status") or {}
        status: dict[str, Any] = {k: v for k, v in old.items() if k in ("startTime", "conditions")}
        if not (job.get("spec") or {}).get("suspend"):
            status.setdefault("startTime", self._clock.timestamp())
        status.update({k: v for k, v in counts.items() if v})
        status["ready"] = ready
        if conditions:
            status["conditions"] = conditions
            if conditions[-1]["type"] == "Complete":
                status["completionTime"] = self._clock.timestamp()
        if status == old:
            return
        updated = copy.deepcopy(job)
        updated["status"] = status
        self._writer.update(self._job_type, updated, "status")

    def _create_pod(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        pod_meta = template.get("metadata") or {}
        labels = {**(pod_meta.get("labels") or {}), "batch.kubernetes.io/job-name": meta["name"],
                  "job-name": meta["name"], "batch.kubernetes.io/controller-uid": meta["uid"],
                  "controller-uid": meta["uid"]}
        body = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{meta['name']}-{''.join(secrets.choice(_SUFFIX) for _ in range(5))}",
                         "namespace": meta["namespace"], "labels": labels,
                         "annotations": pod_meta.get("annotations") or {},
                         "ownerReferences": [_owner_ref(job)]},
            "spec": template.get("spec") or {},
        }
        try:
            request = Request(self._pod_type, meta["namespace"], params={"fieldManager": _MANAGER})
            self._api.create(request, body)
        except ApiError:
            return

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        try:
            self._api.delete(Request(self._pod_type, meta["namespace"], meta["name"], user_agent=_MANAGER))
        except ApiError:
            return

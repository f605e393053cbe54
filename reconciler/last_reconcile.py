"""The record of gpuctl's last reconcile, kept in the cluster on its inventory ConfigMap (the
`gpuctl.dev/last-reconcile` annotation, one JSON document), so that `gpuctl get` and
`gpuctl status` work from any machine: the revision, when, the result, the change counts,
who ran it, and each pool's node selector and target labels.

The record is gpuctl's status, as a controller's status subresource is: it is not a change
of a managed object and is not an audit entry (the audit log's `reconcile-finished` entry
holds the same facts). It is written only when the pass wrote something or its verdict
changed (another revision, success ↔ failure, another error), so a no-op pass stays a
zero-write pass, and `at` is the end of the last pass that changed something, not the last
pass that ran (the daemon's `/status` has that).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.apply.inventory_store import RECORD_ANNOTATION
from reconciler.errors import TerminalError
from reconciler.rollout.targets import target_for
from schemas.kinds import GPUNodePool
from schemas.results import ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

_MESSAGE_LIMIT = 200
_ERROR_LIMIT = 1000


class RecordFormatError(TerminalError):
    """The annotation holds something other than a record gpuctl wrote."""


@dataclass(frozen=True)
class PoolRecord:
    """A pool as `gpuctl get` needs it without the repository."""

    name: str
    node_selector: dict[str, Any]
    target: dict[str, str]
    gpu_model: str = ""

    @classmethod
    def of(cls, pool: GPUNodePool) -> PoolRecord:
        selector = pool.spec.node_selector.model_dump(by_alias=True, exclude_defaults=True)
        return cls(pool.metadata.name, selector, dict(target_for(pool).disruptive), pool.spec.gpu.model)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "nodeSelector": self.node_selector, "target": self.target,
                "gpuModel": self.gpu_model}  # fmt: skip


@dataclass(frozen=True)
class LastReconcile:
    revision: str
    at: str
    result: str
    trigger: str
    author: str = ""
    message: str = ""
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    kube_user: str = ""
    os_user: str = ""
    pools: tuple[PoolRecord, ...] = ()

    @classmethod
    def of_pass(
        cls,
        revision: RevisionInfo,
        outcome: ReconcileOutcome,
        *,
        trigger: Trigger,
        entries: Iterable[ChangeEntry],
        pools: Iterable[GPUNodePool],
        error: str | None = None,
    ) -> LastReconcile:
        counts = Counter(entry.action.value for entry in entries)
        operator = revision.operator
        return cls(
            revision=revision.sha,
            at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            result=ReconcileOutcome(outcome).value,
            trigger=Trigger(trigger).value,
            author=revision.author,
            message=(revision.message.splitlines() or [""])[0][:_MESSAGE_LIMIT],
            error=error[:_ERROR_LIMIT] if error else None,
            counts=dict(sorted(counts.items())),
            kube_user=operator.kube_user if operator else "",
            os_user=operator.os_user if operator else "",
            pools=tuple(PoolRecord.of(p) for p in pools),
        )

    @property
    def failed(self) -> bool:
        return self.result in (ReconcileOutcome.FAILED.value, ReconcileOutcome.INVALID.value)

    def verdict(self) -> tuple[str, bool, str | None]:
        """What a pass that wrote nothing must leave as it is to skip the write."""
        return (self.revision, self.failed, self.error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "at": self.at, "result": self.result, "trigger": self.trigger,
            "author": self.author, "message": self.message, "error": self.error, "counts": self.counts,
            "operator": {"kubeUser": self.kube_user, "osUser": self.os_user},
            "pools": [p.as_dict() for p in self.pools],
        }  # fmt: skip

    def annotation(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> LastReconcile:
        try:
            raw = json.loads(text)
            operator = raw.get("operator") or {}
            pools = tuple(
                PoolRecord(str(p["name"]), dict(p.get("nodeSelector") or {}), dict(p.get("target") or {}),
                           str(p.get("gpuModel") or ""))
                for p in raw.get("pools") or []
            )  # fmt: skip
            return cls(
                revision=str(raw["revision"]), at=str(raw["at"]), result=str(raw["result"]),
                trigger=str(raw.get("trigger") or ""), author=str(raw.get("author") or ""),
                message=str(raw.get("message") or ""), error=raw.get("error"),
                counts={str(k): int(v) for k, v in (raw.get("counts") or {}).items()},
                kube_user=str(operator.get("kubeUser") or ""), os_user=str(operator.get("osUser") or ""),
                pools=pools,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecordFormatError(
                f"annotation {RECORD_ANNOTATION} is not a gpuctl reconcile record ({exc}); "
                "expected the JSON document gpuctl writes (delete the annotation and reconcile again)"
            ) from exc


def record_of(text: str | None) -> LastReconcile | None:
    """The record the inventory ConfigMap's annotation holds, if any."""
    return None if not text else LastReconcile.parse(text)


def needs_write(stored: LastReconcile | None, new: LastReconcile, *, wrote: bool) -> bool:
    """Whether the pass that made `new` updates the stored record."""
    return wrote or stored is None or stored.verdict() != new.verdict()

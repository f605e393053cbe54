"""Result types shared by the reconciler, the audit log and reports: the action vocabulary,
one change, a change set, health codes, and the record of one reconcile."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from schemas.refs import ObjectRef


class Action(StrEnum):
    """What gpuctl did to one object (past tense, as Flux's change sets say it)."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    CORDONED = "cordoned"
    EVICTED = "evicted"
    RELABELLED = "relabelled"
    UNCORDONED = "uncordoned"
    ROLLOUT_FAILED = "rollout-failed"
    FAILED = "failed"


class Trigger(StrEnum):
    """Why a reconcile ran."""

    MANUAL = "manual"
    COMMIT = "commit"
    WEBHOOK = "webhook"
    POLL = "poll"
    DRIFT = "drift"
    RESYNC = "resync"
    STARTUP = "startup"


class HealthCode(IntEnum):
    """Ordered from best to worst, as in Argo CD: a set's health is its worst member's."""

    HEALTHY = 0
    SUSPENDED = 1
    PROGRESSING = 2
    MISSING = 3
    DEGRADED = 4
    UNKNOWN = 5

    def is_worse(self, other: HealthCode) -> bool:
        return self > other


@dataclass(frozen=True)
class HealthStatus:
    code: HealthCode
    message: str = ""


@dataclass(frozen=True)
class ChangeEntry:
    """One change gpuctl made (or failed to make) to one object."""

    ref: ObjectRef
    action: Action
    # The change as a JSON patch (RFC 6902) against the previous live state; Secret data redacted.
    patch: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    error: str | None = None


@dataclass
class ChangeSet:
    """The ordered changes of one reconcile."""

    entries: list[ChangeEntry] = field(default_factory=list)

    def add(self, entry: ChangeEntry) -> None:
        self.entries.append(entry)

    def changed(self) -> list[ChangeEntry]:
        return [e for e in self.entries if e.action not in (Action.UNCHANGED, Action.SKIPPED)]

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class RevisionInfo:
    """The Git revision a reconcile applied."""

    sha: str
    author: str = ""
    message: str = ""
    path: str = ""
    # The revision applied before this one, when this one does not descend from it: the
    # branch's history was rewritten (force-push, reset). Empty otherwise.
    rewrites: str = ""
    # The tool that built the revision when its root is a kustomization; empty for plain files.
    built_with: str = ""
    # Who ran a manual command (`gpuctl apply`, `gpuctl rollout ...`); None for the daemon.
    operator: Operator | None = None


@dataclass(frozen=True)
class Operator:
    """Who ran a manual command: the kubeconfig user of the context it used (empty without a
    kubeconfig: a sandbox URL, in-cluster) and the OS user, beside the commit's Git author."""

    kube_user: str = ""
    os_user: str = ""

    def describe(self) -> str:
        """`kube user alice, OS user bob` (the parts known)."""
        parts = [f"kube user {self.kube_user}" if self.kube_user else ""]
        parts.append(f"OS user {self.os_user}" if self.os_user else "")
        return ", ".join(p for p in parts if p) or "unknown"


class ReconcileOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INVALID = "invalid"  # the revision did not validate; nothing applied
    NOOP = "noop"

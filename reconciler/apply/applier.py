"""Server-side apply of planned pairs, one object at a time, writing only what changed.

For each desired object: skip it when reconcile is disabled by annotation; otherwise send it
with its digest annotation. If the live object already holds every sent value (a local
check, no request), it is unchanged. If not, a server-side dry-run shows what the apply
would store; when that equals the live object after normalisation, nothing is written.
Only a real difference makes a write, recorded at once (created / configured).

Called by `reconciler.pipeline` (and by `diff` with writes disabled).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.apply.patches import change_patch
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import NamespaceMissingError, ReconcileError
from reconciler.planning.compare import is_subset, with_digest
from reconciler.planning.normalise import normalise, rules_for
from reconciler.planning.pairing import Pair
from reconciler.protocols import ClusterClient, KubeObject
from schemas.kinds import DiffIgnoreRule
from schemas.results import Action, ChangeEntry

RECONCILE_ANNOTATION = "gpuctl.dev/reconcile"
PRUNE_ANNOTATION = "gpuctl.dev/prune"
DISABLED = "disabled"


def annotation(obj: KubeObject | None, key: str) -> str | None:
    if not obj:
        return None
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


@dataclass(frozen=True)
class Outcome:
    """What applying one pair did, with the normalised before/after for diff output."""

    entry: ChangeEntry
    before: KubeObject | None = None
    after: KubeObject | None = None


class Applier:
    """Applies pairs through `client`; with `dry_run` it never writes (dry-run requests only)."""

    def __init__(
        self,
        client: ClusterClient,
        recorder: ChangeRecorder,
        *,
        ignore_rules: Iterable[DiffIgnoreRule] = (),
        dry_run: bool = False,
        new_namespaces: Iterable[str] = (),
        defined_namespaces: Iterable[str] | None = None,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.rules = list(ignore_rules)
        self.dry_run = dry_run
        # Namespaces the same plan creates: a dry run cannot place objects in them yet.
        self.new_namespaces = set(new_namespaces)
        # Namespaces the desired state defines (None: unknown): a missing one that it does not
        # define gets a hint in the error.
        self.defined_namespaces = None if defined_namespaces is None else set(defined_namespaces)

    def apply_pairs(self, pairs: Iterable[Pair]) -> list[Outcome]:
        return [self.apply_pair(pair) for pair in pairs]

    def apply_pair(self, pair: Pair) -> Outcome:
        outcome = self._outcome(pair)
        self.recorder.record(outcome.entry)
        return outcome

    def _outcome(self, pair: Pair) -> Outcome:
        assert pair.desired is not None
        opt_outs = {annotation(obj, RECONCILE_ANNOTATION) for obj in (pair.desired, pair.live)}
        if DISABLED in opt_outs:
            return Outcome(ChangeEntry(pair.ref, Action.SKIPPED, message="reconcile disabled by annotation"))
        sent = with_digest(pair.desired)
        if pair.live is not None and is_subset(sent, pair.live):
            return Outcome(ChangeEntry(pair.ref, Action.UNCHANGED))
        rules = rules_for(pair.ref, self.rules)
        before = normalise(pair.live, live=pair.live, rules=rules) if pair.live is not None else None
        if self.dry_run and pair.live is None and not self._can_dry_run(pair):
            # Its CRD or namespace is created earlier in the same plan: no server dry-run possible.
            after = normalise(sent, rules=rules)
            return Outcome(ChangeEntry(pair.ref, Action.CREATED, change_patch(None, after)), None, after)
        try:
            if pair.live is not None or self.dry_run:
                preview = self.client.apply(sent, dry_run=True)
                after = normalise(preview, live=pair.live or preview, rules=rules)
                if before is not None and after == before:
                    return Outcome(ChangeEntry(pair.ref, Action.UNCHANGED), before, after)
                if self.dry_run:
                    action = Action.CONFIGURED if before is not None else Action.CREATED
                    return Outcome(ChangeEntry(pair.ref, action, change_patch(before, after)), before, after)
            stored = self.client.apply(sent)
        except NamespaceMissingError as exc:
            undefined = self.defined_namespaces is not None and exc.namespace not in self.defined_namespaces
            error = f"{exc.reason}; {exc.hint}" if undefined else exc.reason
            return Outcome(ChangeEntry(pair.ref, Action.FAILED, error=error), before)
        except ReconcileError as exc:
            return Outcome(ChangeEntry(pair.ref, Action.FAILED, error=exc.reason), before)
        after = normalise(stored, live=stored, rules=rules)
        action = Action.CONFIGURED if before is not None else Action.CREATED
        return Outcome(ChangeEntry(pair.ref, action, change_patch(before, after)), before, after)

    def _can_dry_run(self, pair: Pair) -> bool:
        if pair.ref.namespace in self.new_namespaces:
            return False
        return self.client.has_kind(pair.api_version, pair.ref.kind)


def failed(outcomes: Iterable[Outcome]) -> list[ChangeEntry]:
    return [o.entry for o in outcomes if o.entry.action is Action.FAILED]


def as_dicts(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    return [
        {
            "ref": str(o.entry.ref),
            "action": o.entry.action.value,
            "patch": o.entry.patch,
            "error": o.entry.error,
        }
        for o in outcomes
    ]

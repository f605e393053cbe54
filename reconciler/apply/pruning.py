"""Pruning: delete what the inventory says gpuctl applied and the revision no longer has,
in reverse apply order, behind guards:

- never a Node; never a CustomResourceDefinition unless `allow_crds`;
- never an object annotated `gpuctl.dev/prune: disabled` (it leaves the inventory);
- never a Namespace that still holds top-level objects gpuctl did not apply;
- refuse everything when the revision renders to nothing, unless `allow_empty`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.apply.applier import DISABLED, PRUNE_ANNOTATION, annotation
from reconciler.apply.intents import deleted
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import ReconcileError, TerminalError
from reconciler.planning.inventory import Inventory
from reconciler.planning.pairing import Pair, Plan
from reconciler.protocols import ClusterClient, KubeObject
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry

# Objects Kubernetes itself puts in every namespace; they do not make a namespace foreign.
_AUTOMATIC = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
_SKIPPED_KINDS = {"Event", "Lease", "EndpointSlice", "Endpoints"}


class EmptyRevisionRefused(TerminalError):
    """The revision renders to no objects while the inventory holds some."""


@dataclass(frozen=True)
class PruneOptions:
    allow_empty: bool = False
    allow_crds: bool = False


NamespaceLister = Callable[[str], list[KubeObject]]


class Pruner:
    """Deletes the plan's prunes through `client`; `list_namespace` lists a namespace's objects."""

    def __init__(
        self,
        client: ClusterClient,
        recorder: ChangeRecorder,
        list_namespace: NamespaceLister,
        options: PruneOptions,
        *,
        dry_run: bool = False,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.list_namespace = list_namespace
        self.options = options
        self.dry_run = dry_run

    def prune(self, plan: Plan, inventory: Inventory, desired_count: int) -> Inventory:
        """Prune and return the inventory that remains (pruned and vanished entries removed)."""
        if desired_count == 0 and plan.prunes and not self.options.allow_empty:
            raise EmptyRevisionRefused(
                f"the revision renders to no objects; refusing to prune all {len(plan.prunes)} applied "
                "objects (pass --allow-empty if this is intended)"
            )
        owned = inventory.refs()
        gone: list[ObjectRef] = list(plan.vanished)
        for pair in plan.prunes:
            entry, forget = self._prune_one(pair, owned)
            self.recorder.record(entry)
            if entry.action is Action.DELETED or forget:
                gone.append(pair.ref)
        return inventory.without(gone)

    def _prune_one(self, pair: Pair, owned: Mapping[ObjectRef, object]) -> tuple[ChangeEntry, bool]:
        ref = pair.ref
        if ref.kind == "Node" and not ref.group:
            return ChangeEntry(ref, Action.SKIPPED, message="gpuctl never deletes Nodes"), True
        if annotation(pair.live, PRUNE_ANNOTATION) == DISABLED:
            return ChangeEntry(ref, Action.SKIPPED, message="prune disabled by annotation"), True
        if ref.kind == "CustomResourceDefinition" and not self.options.allow_crds:
            return ChangeEntry(ref, Action.SKIPPED, message="CRDs are pruned only when allowed"), False
        if ref.kind == "Namespace" and not ref.group:
            foreign = self._foreign_objects(ref.name, owned)
            if foreign:
                shown = ", ".join(str(r) for r in foreign[:5]) + (" …" if len(foreign) > 5 else "")
                message = f"namespace holds {len(foreign)} objects gpuctl did not apply: {shown}"
                return ChangeEntry(ref, Action.SKIPPED, message=message), False
        if self.dry_run:
            return ChangeEntry(ref, Action.DELETED, message="dry run"), False
        try:
            self.recorder.intend(ChangeEntry(ref, Action.DELETED), deleted(pair.api_version), "delete")
            self.client.delete(pair.api_version, ref.kind, ref.name, ref.namespace)
        except ReconcileError as exc:
            return ChangeEntry(ref, Action.FAILED, error=exc.reason), False
        return ChangeEntry(ref, Action.DELETED), False

    def _foreign_objects(self, namespace: str, owned: Mapping[ObjectRef, object]) -> list[ObjectRef]:
        foreign = []
        for obj in self.list_namespace(namespace):
            ref = ObjectRef.of(obj)
            meta = obj.get("metadata") or {}
            if ref in owned or meta.get("ownerReferences") or ref.kind in _SKIPPED_KINDS:
                continue
            if (ref.kind, ref.name) in _AUTOMATIC:
                continue
            foreign.append(ref)
        return sorted(foreign)

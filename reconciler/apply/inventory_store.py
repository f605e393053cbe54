"""Reading and writing the inventory ConfigMap in gpuctl's namespace. A write happens only
when the inventory changed, so a no-op reconcile writes nothing here either. The ConfigMap
also carries the record of the last reconcile (`RECORD_ANNOTATION`, `reconciler.last_reconcile`),
kept in every write of the inventory and replaced by `save_record`."""

from __future__ import annotations

from reconciler.apply.intents import applied
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import ReconcileError
from reconciler.planning.inventory import (
    INVENTORY_NAME,
    Inventory,
    InventoryFormatError,
    inventory_configmap,
    inventory_from_configmap,
)
from reconciler.protocols import ClusterClient, KubeObject
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry

RECORD_ANNOTATION = "gpuctl.dev/last-reconcile"


class InventoryStore:
    """The inventory of one gpuctl installation (one namespace)."""

    def __init__(self, client: ClusterClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._stored: Inventory | None = None
        self._exists = False
        self._live: KubeObject | None = None
        # The record annotation as stored (every server-side apply of the ConfigMap keeps it).
        self.record_text: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("", "ConfigMap", self.namespace, INVENTORY_NAME)

    def load(self) -> Inventory:
        obj = self.client.get("v1", "ConfigMap", INVENTORY_NAME, self.namespace)
        self._exists, self._live = obj is not None, obj
        notes = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        self.record_text = str(notes[RECORD_ANNOTATION]) if notes.get(RECORD_ANNOTATION) else None
        if obj is None:
            self._stored = Inventory()
            return self._stored
        try:
            self._stored = inventory_from_configmap(obj)
        except InventoryFormatError as exc:
            raise ReconcileError(f"unreadable inventory: {exc}", self.ref) from exc
        return self._stored

    def save(self, inventory: Inventory, recorder: ChangeRecorder) -> None:
        """Store `inventory` if it differs from what is stored (creating the namespace if needed)."""
        if self._stored is None:
            self.load()
        if inventory == self._stored:
            return
        if self.client.get("v1", "Namespace", self.namespace) is None:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            entry = ChangeEntry(ObjectRef.of(namespace), Action.CREATED, message="gpuctl namespace")
            recorder.intend(entry, applied("v1", None, namespace), "namespace")
            self.client.apply(namespace)
            recorder.record(entry)
        action = Action.CONFIGURED if self._exists else Action.CREATED
        entry = ChangeEntry(self.ref, action, message=f"inventory of {len(inventory)} objects")
        sent = inventory_configmap(self.namespace, inventory, self._annotations())
        recorder.intend(entry, applied("v1", self._live, sent), "inventory")
        self._live = self.client.apply(sent)
        self._exists = True
        recorder.record(entry)
        self._stored = inventory

    def save_record(self, text: str, recorder: ChangeRecorder) -> None:
        """Replace the record annotation, keeping the stored inventory as it is; audited like
        every write (`reconciler.last_reconcile`)."""
        if self._stored is None:
            self.load()
        assert self._stored is not None
        if self.client.get("v1", "Namespace", self.namespace) is None:
            return  # nothing was ever stored here; the record waits for the first inventory
        self.record_text = text
        action = Action.CONFIGURED if self._exists else Action.CREATED
        entry = ChangeEntry(self.ref, action, message="record of the last reconcile")
        sent = inventory_configmap(self.namespace, self._stored, self._annotations())
        recorder.intend(entry, applied("v1", self._live, sent), "reconcile-record")
        self._live = self.client.apply(sent)
        self._exists = True
        recorder.record(entry)

    def _annotations(self) -> dict[str, str]:
        return {RECORD_ANNOTATION: self.record_text} if self.record_text else {}

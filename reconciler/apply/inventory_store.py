"""Reading and writing the inventory ConfigMap in gpuctl's namespace. A write happens only
when the inventory changed, so a no-op reconcile writes nothing here either."""

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


class InventoryStore:
    """The inventory of one gpuctl installation (one namespace)."""

    def __init__(self, client: ClusterClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._stored: Inventory | None = None
        self._exists = False
        self._live: KubeObject | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("", "ConfigMap", self.namespace, INVENTORY_NAME)

    def load(self) -> Inventory:
        obj = self.client.get("v1", "ConfigMap", INVENTORY_NAME, self.namespace)
        self._exists, self._live = obj is not None, obj
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
        sent = inventory_configmap(self.namespace, inventory)
        recorder.intend(entry, applied("v1", self._live, sent), "inventory")
        self._live = self.client.apply(sent)
        self._exists = True
        recorder.record(entry)
        self._stored = inventory

"""Reading and writing the inventory ConfigMap in gpuctl's namespace. A write happens only
when the inventory changed, so a no-op reconcile writes nothing here either."""

from __future__ import annotations

from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import ReconcileError
from reconciler.planning.inventory import (
    INVENTORY_NAME,
    Inventory,
    InventoryFormatError,
    inventory_configmap,
    inventory_from_configmap,
)
from reconciler.protocols import ClusterClient
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry


class InventoryStore:
    """The inventory of one gpuctl installation (one namespace)."""

    def __init__(self, client: ClusterClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._stored: Inventory | None = None
        self._exists = False

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("", "ConfigMap", self.namespace, INVENTORY_NAME)

    def load(self) -> Inventory:
        obj = self.client.get("v1", "ConfigMap", INVENTORY_NAME, self.namespace)
        self._exists = obj is not None
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
            self.client.apply(namespace)
            recorder.record(ChangeEntry(ObjectRef.of(namespace), Action.CREATED, message="gpuctl namespace"))
        self.client.apply(inventory_configmap(self.namespace, inventory))
        action = Action.CONFIGURED if self._exists else Action.CREATED
        self._exists = True
        recorder.record(ChangeEntry(self.ref, action, message=f"inventory of {len(inventory)} objects"))
        self._stored = inventory

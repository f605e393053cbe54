"""The GPU node agents: the MIG manager, the device plugin with GPU feature discovery, and
the node lifecycle taint for cordoned nodes.

MIG manager: a new `nvidia.com/mig.config` value that resolves and fits is applied after
a delay (`pending` → `success`, longer when MIG mode flips); it ends `failed` when the name
is unknown, the layout does not fit the GPU, GPU pods still run on the node, or a fault
says so. Only on success do the node's labels and allocatable change. The device plugin
picks up `nvidia.com/device-plugin.config` after a restart delay and re-advertises.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import Faults
from sandbox.gpu.advertise import GpuNodeState, advertise
from sandbox.gpu.nodes import (
    DEPLOY_LABELS,
    MIG_CONFIG,
    MIG_STATE,
    PLUGIN_CONFIG,
    LayoutError,
    base_node,
    node_name,
    node_resources,
    resolve_layouts,
)
from sandbox.gpu.operator_config import OperatorConfig
from sandbox.gpu.pods import is_gpu_pod, is_terminal
from sandbox.gpu.port import NODES, PODS, ClusterPort
from sandbox.spec import SandboxSpec
from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout

MIG_MANAGER = "nvidia-mig-manager"
GFD = "gpu-feature-discovery"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
PAUSED = "paused-for-mig-change"


@dataclass
class _NodeGpu:
    pool: GPUNodePool
    applied_config: str
    layouts: tuple[MigLayout, ...]
    plugin_config: str | None
    target: str | None = None
    due: float | None = None
    failed_for: str | None = None
    plugin_due: float | None = None
    plugin_used: DevicePluginConfig | None = None  # the config behind the current advertisement
    gfd_keys: frozenset[str] = field(default_factory=frozenset)


class NodeAgents:
    """MIG manager + device plugin + GFD (+ the cordon taint, which a real cluster's node
    lifecycle controller adds itself: `cordon_taint=False` there), for every GPU node of the spec."""

    watched = frozenset({NODES, PODS, *OperatorConfig.watched})

    def __init__(
        self, port: ClusterPort, spec: SandboxSpec, faults: Faults, *, cordon_taint: bool = True
    ) -> None:
        self._port = port
        self._spec = spec
        self._faults = faults
        self._cordon = cordon_taint
        self._nodes: dict[str, _NodeGpu] = {}
        self._operator = OperatorConfig(port, spec)

    @property
    def node_names(self) -> list[str]:
        """The nodes these agents play, in creation order."""
        return list(self._nodes)

    def owns(self, node: str) -> bool:
        return node in self._nodes

    def create_nodes(self) -> None:
        """Create every pool's nodes with their initial MIG layout applied."""
        for pool in self._spec.pools:
            model, per_node = pool.spec.gpu.model, pool.spec.gpu.per_node
            failed_for = None
            try:
                layouts = resolve_layouts(pool.spec.mig.config, model, per_node, self._spec.mig_parted)
            except LayoutError:  # the pool's own config cannot be applied: the node starts `failed`
                layouts, failed_for = (MigLayout(enabled=False),) * per_node, pool.spec.mig.config
            plugin = pool.spec.device_plugin.config if pool.spec.device_plugin else None
            for index in range(pool.spec.nodes):
                applied = "all-disabled" if failed_for else pool.spec.mig.config
                state = _NodeGpu(pool, applied, layouts, plugin, failed_for=failed_for)
                node = base_node(pool, index, len(self._nodes))
                if failed_for:
                    node["metadata"]["labels"][MIG_STATE] = "failed"
                self._advertise(node, state)
                self._nodes[node_name(pool, index)] = state
                self._register(node)

    def _register(self, node: dict[str, Any]) -> None:
        """Create the Node as a kubelet registers it; a server that drops the status of a
        create gets it written through the status subresource."""
        created = self._port.create(NODES, copy.deepcopy(node), "kubelet")
        if created is None:  # registered before (an agent restarted): keep the live object
            return
        if created.get("status", {}).get("allocatable") != node["status"]["allocatable"]:
            created["status"] = {**created.get("status", {}), **node["status"]}
            self._port.update(NODES, created, "kubelet", "status")

    def _plugin_config(self, label: str | None) -> DevicePluginConfig | None:
        """The device-plugin config a node with this label value runs (the default without one)."""
        configs, default = self._operator.device_plugin()
        return configs.get(label or default or "")

    def _advertise(self, node: dict[str, Any], state: _NodeGpu) -> None:
        state.plugin_used = self._plugin_config(state.plugin_config)
        gpu = GpuNodeState(
            state.pool.spec.gpu.model,
            state.pool.spec.gpu.per_node,
            state.layouts,
            state.pool.spec.mig.strategy,
            state.plugin_used,
        )
        advertised = advertise(gpu)
        labels = node["metadata"].setdefault("labels", {})
        for key in state.gfd_keys - advertised.labels.keys():
            labels.pop(key, None)
        labels.update(advertised.labels)
        state.gfd_keys = frozenset(advertised.labels)
        resources = node_resources(state.pool, advertised.resources)
        node.setdefault("status", {})["capacity"] = resources
        node["status"]["allocatable"] = dict(resources)

    # ------------------------------------------------------------------ reconcile
    def reconcile(self, now: float) -> float | None:
        due: list[float] = []
        pods = None
        for name, state in self._nodes.items():
            live = self._port.get(NODES, "", name)
            if live is None:
                continue
            node = copy.deepcopy(live)
            if state.target is not None and state.due is not None and now >= state.due and pods is None:
                pods = self._port.list(PODS)
            self._mig_manager(name, node, state, now, pods or [])
            self._device_plugin(node, state, now)
            if self._cordon:
                self._cordon_taint(node, now)
            for moment in (state.due, state.plugin_due):
                if moment is not None:
                    due.append(moment)
            if node != live:
                self._write(live, node)
        return min(due) if due else None

    def _write(self, live: dict[str, Any], node: dict[str, Any]) -> None:
        if node.get("status") != live.get("status"):
            written = self._port.update(NODES, node, GFD, "status")
            if written is None:
                return
            node["metadata"]["resourceVersion"] = written["metadata"]["resourceVersion"]
        if {k: v for k, v in node.items() if k != "status"} != {
            k: v for k, v in live.items() if k != "status"
        }:
            self._port.update(NODES, node, MIG_MANAGER)

    def _mig_manager(
        self, name: str, node: dict[str, Any], state: _NodeGpu, now: float, pods: list[dict[str, Any]]
    ) -> None:
        labels = node["metadata"].setdefault("labels", {})
        desired = labels.get(MIG_CONFIG, "all-disabled")
        if desired == state.applied_config and state.target is None:
            state.failed_for = None
            labels[MIG_STATE] = "success"
            return
        if desired == state.failed_for:
            return
        if state.target != desired:
            try:
                layouts = resolve_layouts(
                    desired,
                    state.pool.spec.gpu.model,
                    state.pool.spec.gpu.per_node,
                    self._operator.mig_parted(),
                )
            except LayoutError:
                self._fail(labels, state, desired)
                return
            if layouts == state.layouts:
                state.applied_config, state.target, state.due = desired, None, None
                labels[MIG_STATE] = "success"
                return
            mode_change = [lay.enabled for lay in layouts] != [lay.enabled for lay in state.layouts]
            timings = self._spec.timings
            state.target = desired
            state.due = now + (timings.mig_mode_change_s if mode_change else timings.mig_reconfigure_s)
            labels[MIG_STATE] = "pending"
            for component in DEPLOY_LABELS:
                key = f"nvidia.com/gpu.deploy.{component}"
                if labels.get(key) != "false":
                    labels[key] = PAUSED
            return
        if state.due is None or now < state.due:
            return
        busy = any(
            p.get("spec", {}).get("nodeName") == name and is_gpu_pod(p) and not is_terminal(p) for p in pods
        )
        if busy or name in self._faults.mig_fail_nodes:
            self._fail(labels, state, desired)
            return
        state.layouts = resolve_layouts(
            desired, state.pool.spec.gpu.model, state.pool.spec.gpu.per_node, self._operator.mig_parted()
        )
        state.applied_config, state.target, state.due = desired, None, None
        labels[MIG_STATE] = "success"
        self._restore_deploy_labels(labels)
        self._advertise(node, state)

    def _fail(self, labels: dict[str, str], state: _NodeGpu, desired: str) -> None:
        state.failed_for, state.target, state.due = desired, None, None
        labels[MIG_STATE] = "failed"
        self._restore_deploy_labels(labels)

    @staticmethod
    def _restore_deploy_labels(labels: dict[str, str]) -> None:
        for component in DEPLOY_LABELS:
            key = f"nvidia.com/gpu.deploy.{component}"
            if labels.get(key) == PAUSED:
                labels[key] = "true"

    def _device_plugin(self, node: dict[str, Any], state: _NodeGpu, now: float) -> None:
        wanted = node["metadata"].get("labels", {}).get(PLUGIN_CONFIG)
        # The plugin restarts when its label or the content of its config changes.
        if wanted == state.plugin_config and self._plugin_config(wanted) == state.plugin_used:
            state.plugin_due = None
            return
        if state.plugin_due is None:
            state.plugin_due = now + self._spec.timings.device_plugin_restart_s
            return
        if now >= state.plugin_due:
            state.plugin_config, state.plugin_due = wanted, None
            self._advertise(node, state)

    @staticmethod
    def _cordon_taint(node: dict[str, Any], now: float) -> None:
        spec = node.setdefault("spec", {})
        taints = [t for t in spec.get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
        if spec.get("unschedulable"):
            existing = next(
                (t for t in spec.get("taints") or [] if t.get("key") == UNSCHEDULABLE_TAINT), None
            )
            taints.append(
                existing or {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": _iso(now)}
            )
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)


def _iso(moment: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""The GPU Operator's configuration as the MIG manager and the device plugin read it in a
cluster: the ConfigMaps the ClusterPolicy names (`spec.migManager.config.name`, key
`config.yaml`; `spec.devicePlugin.config.name`, one key per config, and its `default`), in
the operator's namespace. Until those objects exist in the sandbox, the configs of the
`SandboxSpec` stand in for them (as if the operator had been installed with them).

Parsed configs are cached by the ConfigMap's resourceVersion; a ConfigMap that does not
parse is treated as absent (the MIG manager then fails a change, as mig-parted would).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from sandbox.gpu.port import CLUSTER_POLICIES, CONFIGMAPS, ClusterPort
from sandbox.spec import SandboxSpec
from schemas.deviceplugin import DevicePluginConfig
from schemas.migconfig import MigPartedConfig

OPERATOR_NAMESPACE = "gpu-operator"
DEFAULT_MIG_CONFIGMAP = "default-mig-parted-config"


def _load(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


class OperatorConfig:
    watched = frozenset({CLUSTER_POLICIES, CONFIGMAPS})

    def __init__(self, port: ClusterPort, spec: SandboxSpec) -> None:
        self._port = port
        self._spec = spec
        self._cache: dict[tuple[str, str], tuple[str, object]] = {}

    def _policy_spec(self) -> dict[str, Any] | None:
        policies = self._port.list(CLUSTER_POLICIES)
        return (policies[0].get("spec") or {}) if policies else None

    def _configmap(self, name: str) -> dict[str, Any] | None:
        return self._port.get(CONFIGMAPS, OPERATOR_NAMESPACE, name)

    def _cached(self, cm: dict[str, Any], parse: Any) -> Any:
        key = (cm["metadata"]["name"], "parsed")
        version = cm["metadata"].get("resourceVersion", "")
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = parse(cm.get("data") or {})
        self._cache[key] = (version, value)
        return value

    def mig_parted(self) -> MigPartedConfig | None:
        """The mig-parted config the MIG manager uses now."""
        policy = self._policy_spec()
        name = ((policy or {}).get("migManager") or {}).get("config", {}).get("name") or DEFAULT_MIG_CONFIGMAP
        cm = self._configmap(name) if policy is not None else None
        if cm is None:
            return self._spec.mig_parted

        def parse(data: dict[str, str]) -> MigPartedConfig | None:
            raw = _load(data.get("config.yaml", ""))
            try:
                return MigPartedConfig.model_validate(raw)
            except ValidationError:
                return None

        parsed: MigPartedConfig | None = self._cached(cm, parse)
        return parsed

    def device_plugin(self) -> tuple[dict[str, DevicePluginConfig], str | None]:
        """The device-plugin configs by name, and the default for unlabelled nodes."""
        policy = self._policy_spec()
        config = ((policy or {}).get("devicePlugin") or {}).get("config") or {}
        cm = self._configmap(config["name"]) if config.get("name") else None
        if cm is None:
            return self._spec.device_plugin, config.get("default")

        def parse(data: dict[str, str]) -> dict[str, DevicePluginConfig]:
            configs = {}
            for key, text in data.items():
                try:
                    configs[key] = DevicePluginConfig.model_validate(_load(text))
                except ValidationError:
                    continue
            return configs

        parsed: dict[str, DevicePluginConfig] = self._cached(cm, parse)
        return parsed, config.get("default")

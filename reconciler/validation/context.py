"""What every validation rule reads: the draft state, manifests indexed by kind, and the
GPU Operator configs found in the repository (with where they were written).

Built once per validation run by `reconciler.validation.validate_state`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from reconciler.yamldocs import Origin, YamlDocument, escape_pointer_token, parse_documents
from schemas.desired import DesiredState, Manifest
from schemas.deviceplugin import DevicePluginConfig
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import Limits
from schemas.migconfig import MigPartedConfig

RULE_EMBEDDED_YAML = "configmap-embedded-yaml"


@dataclass(frozen=True)
class Embedded:
    """A YAML document stored in one ConfigMap value, with positions in the repository file."""

    manifest: Manifest
    key: str
    document: YamlDocument

    def position(self, pointer: str) -> SourceLocation:
        """Where `pointer` (inside the embedded document) was written, or its nearest parent."""
        while pointer:
            found = self.document.positions.get(pointer)
            if found is not None:
                return found
            pointer = pointer.rsplit("/", 1)[0]
        return self.document.location


@dataclass(frozen=True)
class MigPartedSource:
    config: MigPartedConfig
    embedded: Embedded


@dataclass(frozen=True)
class DevicePluginSource:
    config: DevicePluginConfig
    embedded: Embedded


@dataclass
class Context:
    """Shared, read-only input of the rules (the GPU Operator configs are filled by their rules)."""

    state: DesiredState
    by_kind: dict[str, list[Manifest]] = field(default_factory=lambda: defaultdict(list))
    mig_parted: MigPartedSource | None = None
    device_plugin: dict[str, DevicePluginSource] = field(default_factory=dict)
    # Set when the repository has such a ConfigMap, even if it failed to parse, so that
    # references to it are not reported twice.
    mig_parted_manifest: Manifest | None = None
    device_plugin_manifest: Manifest | None = None

    @classmethod
    def of(cls, state: DesiredState) -> Context:
        context = cls(state)
        for manifest in state.manifests:
            context.by_kind[manifest.ref.kind].append(manifest)
        return context

    def manifest_of(self, kind: str, name: str, namespace: str = "") -> Manifest | None:
        for manifest in self.by_kind.get(kind, []):
            if manifest.ref.name == name and manifest.ref.namespace == namespace:
                return manifest
        return None

    def kind(self, kind: str, group: str | None = None) -> list[Manifest]:
        found = self.by_kind.get(kind, [])
        return found if group is None else [m for m in found if m.ref.group == group]


def data_pointer(key: str) -> str:
    return "/data/" + escape_pointer_token(key)


def parse_embedded(manifest: Manifest, key: str, limits: Limits, sink: list[Diagnostic]) -> Embedded | None:
    """Parse the YAML in `data[key]` of a ConfigMap, placing it in the repository file."""
    value = (manifest.obj.get("data") or {}).get(key)
    if not isinstance(value, str):
        return None
    pointer = data_pointer(key)
    block = manifest.block_starts.get(pointer)
    if block is not None:
        origin = Origin(block.file, block.line - 1, block.col - 1)
    else:  # a quoted or plain scalar: lines inside are counted from the key's line
        where = manifest.position(pointer)
        origin = Origin(where.file, where.line - 1, 0)
    documents, found = parse_documents(value, origin, limits, max_documents=1)
    sink.extend(
        Diagnostic(d.location, d.severity, f"{manifest.ref} data[{key}]: {d.message}", d.rule) for d in found
    )
    if found or not documents:
        return None
    if not isinstance(documents[0].data, dict):
        sink.append(
            Diagnostic(
                documents[0].location,
                Severity.ERROR,
                f"{manifest.ref} data[{key}] must hold a YAML mapping",
                RULE_EMBEDDED_YAML,
            )
        )
        return None
    return Embedded(manifest, key, documents[0])

"""From parsed YAML documents to repository objects: plain manifests and gpuctl kinds.

Called by `reconciler.source.loader` for each document. Checks the basics every document
needs (a mapping with apiVersion, kind and metadata.name) and validates gpuctl kinds with
their pydantic models, turning pydantic errors into file:line diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.validation.pydantic_errors import diagnostics_from_pydantic
from reconciler.yamldocs import YamlDocument
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import GPUCTL_GROUP, GPUNodePool, WorkloadProfile
from schemas.refs import ObjectRef

RULE_NOT_MAPPING = "document-not-mapping"
RULE_MISSING_FIELD = "document-missing-field"
RULE_GPUCTL_KIND = "gpuctl-unknown-kind"
RULE_GPUCTL_SCHEMA = "gpuctl-schema"
RULE_SETTINGS_PLACE = "settings-misplaced"
RULE_KUSTOMIZATION = "kustomization-nested"
KUSTOMIZE_GROUP = "kustomize.config.k8s.io"

GPUCTL_KINDS: dict[str, type[BaseModel]] = {"GPUNodePool": GPUNodePool, "WorkloadProfile": WorkloadProfile}
SUPPORTED_GPUCTL_VERSIONS = ("gpuctl.dev/v1alpha1",)


@dataclass
class Classified:
    """What one document turned out to be (at most one of the three fields is set)."""

    manifest: Manifest | None = None
    pool: GPUNodePool | None = None
    workload: WorkloadProfile | None = None


def expand_lists(doc: YamlDocument) -> list[YamlDocument]:
    """A `v1 List` (as `kubectl get -o yaml` writes) becomes one document per item, each with
    its own positions; any other document is returned as it is."""
    data = doc.data
    if not (isinstance(data, dict) and data.get("apiVersion") == "v1" and data.get("kind") == "List"):
        return [doc]
    items = data.get("items")
    if not isinstance(items, list):
        return [doc]
    expanded: list[YamlDocument] = []
    for index, item in enumerate(items):
        prefix = f"/items/{index}"
        positions = {
            pointer[len(prefix) :]: where
            for pointer, where in doc.positions.items()
            if pointer.startswith(prefix + "/")
        }
        blocks = {
            pointer[len(prefix) :]: where
            for pointer, where in doc.block_starts.items()
            if pointer.startswith(prefix + "/")
        }
        expanded.append(YamlDocument(item, doc.positions.get(prefix, doc.location), positions, blocks))
    return expanded


def classify(doc: YamlDocument) -> tuple[Classified, list[Diagnostic]]:
    """Check the basics of one document and build its typed object."""
    data = doc.data
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        return Classified(), [
            Diagnostic(
                doc.location,
                Severity.ERROR,
                f"a document must be a mapping (a Kubernetes object), not a {kind}",
                RULE_NOT_MAPPING,
            )
        ]
    if str(data.get("apiVersion", "")).startswith(KUSTOMIZE_GROUP + "/"):
        return Classified(), [
            Diagnostic(
                doc.positions.get("/kind", doc.location),
                Severity.ERROR,
                "a kustomization below the loaded directory is not built as part of it: load its "
                "directory (--path), run gpuctl validate --all on the tree, or list it under ignore",
                RULE_KUSTOMIZATION,
            )
        ]
    missing = _missing_basics(data)
    if missing:
        return Classified(), [
            Diagnostic(
                _where_missing(doc, field),
                Severity.ERROR,
                f"missing required field {field}",
                RULE_MISSING_FIELD,
            )
            for field in missing
        ]
    api_version = str(data["apiVersion"])
    manifest = Manifest(data, doc.location, ObjectRef.of(data), doc.positions, doc.block_starts)
    if api_version.split("/", 1)[0] != GPUCTL_GROUP:
        return Classified(manifest=manifest), []
    return _gpuctl_kind(doc, manifest, api_version, str(data["kind"]))


def _missing_basics(data: dict[str, Any]) -> list[str]:
    missing = [f for f in ("apiVersion", "kind") if not isinstance(data.get(f), str) or not data.get(f)]
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        missing.append("metadata.name")
    return missing


def _where_missing(doc: YamlDocument, field: str) -> SourceLocation:
    if field == "metadata.name":
        return doc.positions.get("/metadata", doc.location)
    return doc.location


def _gpuctl_kind(
    doc: YamlDocument, manifest: Manifest, api_version: str, kind: str
) -> tuple[Classified, list[Diagnostic]]:
    where = doc.positions.get("/kind", doc.location)
    if kind == "Settings":
        return Classified(), [
            Diagnostic(
                where,
                Severity.ERROR,
                "repository settings belong in gpuctl.yaml at the repository root",
                RULE_SETTINGS_PLACE,
            )
        ]
    model = GPUCTL_KINDS.get(kind)
    if model is None or api_version not in SUPPORTED_GPUCTL_VERSIONS:
        known = ", ".join(f"{v} {k}" for v in SUPPORTED_GPUCTL_VERSIONS for k in GPUCTL_KINDS)
        return Classified(), [
            Diagnostic(
                where,
                Severity.ERROR,
                f"unknown gpuctl kind {api_version} {kind} (known: {known})",
                RULE_GPUCTL_KIND,
            )
        ]
    try:
        obj = model.model_validate(doc.data)
    except ValidationError as err:
        return Classified(), diagnostics_from_pydantic(
            err, doc.data, manifest.position, RULE_GPUCTL_SCHEMA, subject=f"{kind} {manifest.ref.name}"
        )
    if isinstance(obj, GPUNodePool):
        return Classified(manifest=manifest, pool=obj), []
    if isinstance(obj, WorkloadProfile):
        return Classified(manifest=manifest, workload=obj), []
    raise AssertionError(f"unhandled gpuctl kind {kind}")

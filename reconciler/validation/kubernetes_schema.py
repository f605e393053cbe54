"""Built-in Kubernetes kinds checked offline against the OpenAPI-derived JSON schemas that the
`kubernetes-validate` package bundles (strict variant: unknown fields are errors).

The package's own `validate()` re-reads the 1.4 MB definitions file on every call, so this
module reads the bundled files directly and compiles one `jsonschema` validator per
(Kubernetes version, apiVersion, kind), reused for every document. Schema error paths are
mapped back to file:line through `Manifest.positions`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.validation.context import Context
from reconciler.validation.schema_errors import schema_error_diagnostics
from schemas.diagnostics import Diagnostic, Severity, SourceLocation

if TYPE_CHECKING:  # jsonschema is imported on first use, to keep start-up fast
    from jsonschema.protocols import Validator

RULE_SCHEMA = "k8s-schema"
RULE_UNKNOWN_KIND = "k8s-unknown-kind"
RULE_VERSION = "kubernetes-version-unsupported"
_DIR_NAME = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
SETTINGS_LOCATION = SourceLocation("gpuctl.yaml", 1, 1)


def _schema_root() -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def bundled_versions() -> dict[tuple[int, int], Path]:
    """(major, minor) → schema directory, for every Kubernetes version bundled."""
    found: dict[tuple[int, int], Path] = {}
    for entry in _schema_root().iterdir():
        match = _DIR_NAME.match(entry.name)
        if match:
            found[(int(match.group(1)), int(match.group(2)))] = entry
    return found


def pick_version(requested: str) -> tuple[tuple[int, int], bool]:
    """The newest bundled version not newer than `requested`, and whether it is exact."""
    major, minor = (int(x) for x in requested.split(".")[:2])
    versions = sorted(bundled_versions())
    older = [v for v in versions if v <= (major, minor)]
    chosen = older[-1] if older else versions[0]
    return chosen, chosen == (major, minor)


def is_builtin_group(group: str) -> bool:
    """Core and `*.k8s.io` groups (not the `x-k8s.io` ones of SIG projects such as Kueue)."""
    return group == "" or "." not in group or (group.endswith(".k8s.io") and not group.endswith("x-k8s.io"))


class SchemaStore:
    """Compiled validators of one Kubernetes version, created on first use per kind."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = {p.name for p in directory.iterdir()}
        self._api_versions = {name.split("-", 1)[1] for name in self._files if "-" in name}
        self._validators: dict[tuple[str, str], Validator | None] = {}
        self._registry: Any = None
        self._definitions: dict[str, Any] = {}

    @staticmethod
    def file_key(api_version: str) -> str:
        group, _, version = api_version.rpartition("/")
        return f"{group.split('.', 1)[0]}-{version}" if group else version

    def knows_api_version(self, api_version: str) -> bool:
        return f"{self.file_key(api_version)}.json" in self._api_versions

    def validator(self, api_version: str, kind: str) -> Validator | None:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._compile(api_version, kind)
        return self._validators[key]

    def _compile(self, api_version: str, kind: str) -> Validator | None:
        import jsonschema
        from referencing import Registry, Resource

        name = f"{kind.lower()}-{self.file_key(api_version)}.json"
        if name not in self._files:
            return None
        if self._registry is None:
            definitions = json.loads((self.directory / "_definitions.json").read_text(encoding="utf-8"))
            self._definitions = definitions["$defs"]
            self._registry = Registry().with_resource(_DEFINITIONS_URI, Resource.from_contents(definitions))
        schema = json.loads((self.directory / name).read_text(encoding="utf-8"))
        inlined = _Inliner(self._definitions).inline(schema)
        return jsonschema.Draft202012Validator(inlined, registry=self._registry)


class _Inliner:
    """Replaces `$ref`s to the shared definitions with the definitions themselves, so that
    validation does not resolve references per value (about half of jsonschema's time on
    pod templates). A definition that refers to itself (JSONSchemaProps) keeps an absolute
    `$ref`, resolved through the registry. Description texts are dropped."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.done: dict[str, Any] = {}
        self.stack: set[str] = set()

    def inline(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            return self._definition(ref.rsplit("/", 1)[1])
        # A "description" string annotates; a "description" schema is a field of that name.
        return {
            key: self.inline(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }

    def _definition(self, name: str) -> Any:
        if name in self.done:
            return self.done[name]
        if name in self.stack or name not in self.definitions:
            return {"$ref": f"{_DEFINITIONS_URI}#/$defs/{name}"}
        self.stack.add(name)
        result = self.inline(self.definitions[name])
        self.stack.discard(name)
        self.done[name] = result
        return result


@cache
def store_for(version: tuple[int, int]) -> SchemaStore:
    return SchemaStore(bundled_versions()[version])


def check_kubernetes_schemas(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    requested = context.state.settings.kubernetes_version
    version, exact = pick_version(requested)
    if not exact:
        found.append(
            Diagnostic(
                SETTINGS_LOCATION,
                Severity.WARNING,
                f"no bundled schemas for Kubernetes {requested}; checking against {version[0]}.{version[1]}",
                RULE_VERSION,
            )
        )
    store = store_for(version)
    label = f"{version[0]}.{version[1]}"
    for manifest in context.state.manifests:
        if not is_builtin_group(manifest.ref.group):
            continue
        api_version = str(manifest.obj["apiVersion"])
        validator = store.validator(api_version, manifest.ref.kind)
        if validator is None:
            if store.knows_api_version(api_version):
                found.append(
                    Diagnostic(
                        manifest.position("/kind"),
                        Severity.ERROR,
                        f"Kubernetes {label} has no kind {manifest.ref.kind} in {api_version}",
                        RULE_UNKNOWN_KIND,
                    )
                )
            continue
        for error in validator.iter_errors(manifest.obj):
            found.extend(
                schema_error_diagnostics(
                    manifest, error, f"{manifest.ref} (Kubernetes {label} schema)", RULE_SCHEMA
                )
            )
    return found

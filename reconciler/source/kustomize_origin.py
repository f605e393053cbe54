"""From a built object back to where it was written: file, document and (approximately) line.

Called by `reconciler.source.kustomize` for every object of a build. kustomize's
`config.kubernetes.io/origin` annotation names the source file (or, for generated objects, the
kustomization that configured the generator); the document is found in that file by kind and
name, and its parsed positions become the built object's. Fields an overlay's patch sets point
at the patch instead: strategic-merge patches by their own positions, JSON 6902 operations by the
operation. What this cannot know is approximate: list items shifted by a patch keep their base
line, fields added by transformers (namePrefix, namespace, labels) point at the document.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.source.kustomize_scan import Kustomization
from reconciler.source.kustomize_tree import inside, join
from reconciler.yamldocs import Origin, YamlDocument, parse_documents
from schemas.diagnostics import Diagnostic, SourceLocation
from schemas.kinds import Limits

ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_GENERATOR_KEYS = {"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}
_IDENTITY = ("/apiVersion", "/kind", "/metadata", "/metadata/name", "/metadata/namespace")

Reader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class PatchSite:
    """One patch of a kustomization: which objects it targets and where it sets each field."""

    target: dict[str, Any]
    pointers: dict[str, SourceLocation] = field(default_factory=dict)

    def matches(self, kind: str, names: tuple[str, ...], namespace: str) -> bool:
        def fits(key: str, values: tuple[str, ...]) -> bool:
            wanted = self.target.get(key)
            if not isinstance(wanted, str) or not wanted:
                return True
            return any(_fullmatch(wanted, value) for value in values)

        return fits("kind", (kind,)) and fits("name", names) and fits("namespace", (namespace,))


class SourceIndex:
    """Source files parsed once per build, and every patch of the build's kustomizations."""

    def __init__(
        self,
        read: Reader,
        display: Callable[[str], str],
        limits: Limits,
        kustomizations: list[Kustomization],
        sink: list[Diagnostic],
    ) -> None:
        self._read = read
        self.display = display
        self._limits = limits
        self._sink = sink
        self._files: dict[str, list[YamlDocument]] = {}
        self.kustomizations = {k.file: k for k in kustomizations}
        self.patches = [site for k in kustomizations for site in self._patches(k)]

    def documents(self, path: str) -> list[YamlDocument]:
        if path not in self._files:
            kust = self.kustomizations.get(path)
            if kust is not None:
                self._files[path] = [kust.doc]
            else:
                raw = self._read(path)
                text = raw.decode("utf-8", "replace") if raw is not None else ""
                docs, found = parse_documents(text, Origin(self.display(path)), self._limits)
                self._sink.extend(found)  # source findings (duplicate keys...) kustomize may hide
                self._files[path] = docs
        return self._files[path]

    def _patches(self, k: Kustomization) -> list[PatchSite]:
        data, sites = k.doc.data, []
        for index, entry in enumerate(_list(data.get("patches"))):
            if isinstance(entry, dict):
                target: dict[str, Any] = entry["target"] if isinstance(entry.get("target"), dict) else {}
                sites.extend(self._patch_text(k, f"/patches/{index}/patch", entry, target))
        for index, entry in enumerate(_list(data.get("patchesJson6902"))):
            if isinstance(entry, dict) and isinstance(entry.get("target"), dict):
                sites.extend(self._patch_text(k, f"/patchesJson6902/{index}/patch", entry, entry["target"]))
        for index, entry in enumerate(_list(data.get("patchesStrategicMerge"))):
            if isinstance(entry, str):
                inline = {"patch": entry} if "\n" in entry else {"path": entry}
                sites.extend(self._patch_text(k, f"/patchesStrategicMerge/{index}", inline, {}))
        return sites

    def _patch_text(
        self, k: Kustomization, pointer: str, entry: dict[str, Any], target: dict[str, Any]
    ) -> list[PatchSite]:
        if isinstance(entry.get("patch"), str):
            start = k.doc.block_starts.get(pointer) or k.doc.positions.get(pointer, k.doc.location)
            origin = Origin(start.file, start.line - 1, start.col - 1)
            docs = parse_documents(entry["patch"], origin, self._limits)[0]
        elif isinstance(entry.get("path"), str):
            path = join(k.directory, entry["path"])
            docs = self.documents(path) if path is not None else []
        else:
            return []
        sites: list[PatchSite] = []
        for doc in docs:
            if isinstance(doc.data, list):
                sites.append(PatchSite(target, _operation_pointers(doc)))
            elif isinstance(doc.data, dict):
                own = _identity(doc.data)
                pointers = {p: where for p, where in doc.positions.items() if p not in _IDENTITY}
                sites.append(PatchSite(target or own, pointers))
        return sites


def source_document(
    built: dict[str, Any], index: SourceIndex, to_tree: Callable[[str], str | None]
) -> YamlDocument:
    """The built object (origin annotation removed) with the positions of its source."""
    data = _strip_origin(built)
    origin = _origin(built)
    kind = str(data.get("kind", ""))
    name = str(_meta(data).get("name", ""))
    namespace = str(_meta(data).get("namespace", ""))
    generated = origin.get("configuredIn")
    if isinstance(generated, str):
        return _generated(data, origin, index, to_tree(generated))
    path = to_tree(str(origin.get("path", ""))) if isinstance(origin.get("path"), str) else None
    source = _find(index.documents(path), kind, name) if path is not None else None
    if source is None:
        where = SourceLocation(index_display(index, path), 1, 1)
        return YamlDocument(data, where)
    names = (name, str(_meta(source.data).get("name", "")))
    positions = dict(source.positions)
    blocks = dict(source.block_starts)
    for site in index.patches:
        if site.matches(kind, names, namespace):
            positions.update(site.pointers)
            for pointer in site.pointers:
                blocks.pop(pointer, None)
    return YamlDocument(data, source.location, positions, blocks)


def index_display(index: SourceIndex, path: str | None) -> str:
    return index.display(path) if path is not None else "kustomization.yaml"


def _generated(
    data: dict[str, Any], origin: dict[str, Any], index: SourceIndex, path: str | None
) -> YamlDocument:
    """A ConfigMap or Secret a generator made: placed at its entry in the kustomization."""
    k = index.kustomizations.get(path or "")
    if k is None:
        return YamlDocument(data, SourceLocation(index_display(index, path), 1, 1))
    by = origin.get("configuredBy")
    key = _GENERATOR_KEYS.get(str(by.get("kind")) if isinstance(by, dict) else "", "")
    name = str(_meta(data).get("name", ""))
    for i, entry in enumerate(_list(k.doc.data.get(key))):
        if isinstance(entry, dict) and str(entry.get("name", "\0")) in name:  # prefix, hash suffix
            return YamlDocument(data, k.doc.positions.get(f"/{key}/{i}", k.doc.location))
    return YamlDocument(data, k.doc.location)


def _find(docs: list[YamlDocument], kind: str, name: str) -> YamlDocument | None:
    same_kind = [d for d in docs if isinstance(d.data, dict) and d.data.get("kind") == kind]
    for doc in same_kind:
        if _meta(doc.data).get("name") == name:
            return doc
    # namePrefix / nameSuffix change the name; the written one is still inside it.
    for doc in same_kind:
        written = _meta(doc.data).get("name")
        if isinstance(written, str) and written and written in name:
            return doc
    return same_kind[0] if len(same_kind) == 1 else None


def _operation_pointers(doc: YamlDocument) -> dict[str, SourceLocation]:
    """JSON 6902 operations: each `path` (and what its `value` contains) → that operation."""
    pointers: dict[str, SourceLocation] = {}
    for i, op in enumerate(doc.data):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            continue
        path = op["path"]
        if path.endswith("/-"):
            continue  # appended to a list: its index is not known here
        pointers[path] = doc.positions.get(f"/{i}/value", doc.positions.get(f"/{i}", doc.location))
        prefix = f"/{i}/value/"
        for pointer, where in doc.positions.items():
            if pointer.startswith(prefix):
                pointers[path + pointer[len(prefix) - 1 :]] = where
    return pointers


def to_tree_path(build_dir: str, source_dir: str) -> Callable[[str], str | None]:
    """Origin paths (relative to the build directory) → paths of the repository tree."""

    def convert(path: str) -> str | None:
        normal = inside(posixpath.join(build_dir, path))
        if normal is None or not (normal == source_dir or normal.startswith(source_dir + "/")):
            return None
        return normal[len(source_dir) + 1 :]

    return convert


def _origin(built: dict[str, Any]) -> dict[str, Any]:
    text = _meta(built).get("annotations", {}).get(ORIGIN_ANNOTATION)
    if not isinstance(text, str):
        return {}
    try:
        value = yaml.load(text, Loader=_LOADER)  # a safe loader (libyaml's when present)
    except yaml.YAMLError:
        return {}
    return value if isinstance(value, dict) else {}


def _strip_origin(built: dict[str, Any]) -> dict[str, Any]:
    """The object as it is applied: without the annotation the build added."""
    meta = built.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("annotations"), dict):
        return built
    annotations = {k: v for k, v in meta["annotations"].items() if k != ORIGIN_ANNOTATION}
    stripped_meta = {k: v for k, v in meta.items() if k != "annotations"}
    if annotations:
        stripped_meta["annotations"] = annotations
    return {**built, "metadata": stripped_meta}


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": data.get("kind"), "name": _meta(data).get("name")}


def _meta(data: Any) -> dict[str, Any]:
    meta = data.get("metadata") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return pattern == value

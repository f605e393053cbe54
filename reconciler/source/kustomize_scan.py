"""Reading the kustomization files a build will use, before anything runs.

Called by `reconciler.source.kustomize` (before a build) and `kustomize_roots` (finding the
roots of a tree). From a root kustomization it follows the local bases and components
(`resources`, `bases`, `components` entries that are directories with a kustomization) and
refuses what must never run from a repository: remote bases (URLs; a controller's build has no
network), `helmCharts` (Helm charts are rendered by the tools that own them) and exec, container
or Go plugins in `generators`, `transformers` and `validators` (no code from a repository). It
does not interpret anything else: the build itself is kustomize's.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from reconciler.source.kustomize_tree import SourceTree, join, kustomization_file
from reconciler.yamldocs import Origin, YamlDocument, parse_documents
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import Limits

RULE_REFUSED = "kustomize-refused"

REFERENCE_KEYS = ("resources", "bases", "components")
PLUGIN_KEYS = ("generators", "transformers", "validators")
HELM_KEYS = ("helmCharts", "helmGlobals", "helmChartInflationGenerator")
FUNCTION_ANNOTATIONS = ("config.kubernetes.io/function", "config.k8s.io/function")
# What kustomize fetches instead of reading from the tree: URLs, scp-like Git addresses, and the
# host-first forms (github.com/org/repo//path?ref=v1) its remote loader accepts.
_REMOTE = re.compile(
    r"^([a-z][a-z0-9+.-]*://|git@|[\w.-]+@[\w.-]+:|(github|gitlab|bitbucket)\.(com|org)/)|\?ref=|\?version=",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Kustomization:
    """One kustomization file of a build: where it is and what it says."""

    directory: str
    file: str
    doc: YamlDocument
    text: str


@dataclass
class Closure:
    """The kustomizations a root builds from, bases before the overlays that use them."""

    kustomizations: list[Kustomization] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


def is_remote(entry: str) -> bool:
    """Whether a `resources`/`bases`/`components` entry names something kustomize would fetch."""
    return bool(_REMOTE.search(entry.strip()))


def read_kustomization(
    tree: SourceTree, file: str, display: str, limits: Limits, sink: list[Diagnostic]
) -> Kustomization | None:
    """Parse one kustomization file (findings named `display`, the path users see)."""
    raw = tree.read(file)
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    docs, found = parse_documents(text, Origin(display), limits, max_documents=1)
    sink.extend(found)
    if not docs or not isinstance(docs[0].data, dict):
        if not found:
            sink.append(_refusal(SourceLocation(display, 1, 1), "a kustomization file must be a mapping"))
        return None
    return Kustomization(posixpath.dirname(file), file, docs[0], text)


def local_bases(k: Kustomization, tree: SourceTree) -> list[tuple[str, str]]:
    """(pointer, root-relative directory) of every local base or component `k` names that is a
    directory with a kustomization of its own (a directory of plugin configs too: kustomize,
    run without alpha plugins, accepts only builtin ones there)."""
    found: list[tuple[str, str]] = []
    for key in (*REFERENCE_KEYS, *PLUGIN_KEYS):
        for index, entry in enumerate(_entries(k.doc.data, key)):
            target = join(k.directory, entry)
            if is_remote(entry) or target is None or tree.kind(target) != "dir":
                continue
            if kustomization_file(tree, target) is not None:
                found.append((f"/{key}/{index}", target))
    return found


def scan(tree: SourceTree, root: str, display: DisplayPath, limits: Limits) -> Closure:
    """Every kustomization reachable from the one in `root`, with what is refused."""
    closure = Closure()
    seen: set[str] = set()

    def visit(directory: str) -> None:
        if directory in seen:
            return
        seen.add(directory)
        file = kustomization_file(tree, directory)
        if file is None:
            return
        k = read_kustomization(tree, file, display(file), limits, closure.diagnostics)
        if k is None:
            return
        closure.diagnostics.extend(_refusals(k, tree, display, limits))
        for _, base in local_bases(k, tree):
            visit(base)
        closure.kustomizations.append(k)

    visit(root)
    return closure


class DisplayPath:
    """Root-relative tree paths → the paths findings name (relative to the loaded directory)."""

    def __init__(self, loaded: str) -> None:
        self.loaded = loaded

    def __call__(self, path: str) -> str:
        return posixpath.relpath(path or ".", self.loaded or ".")


def _entries(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [str(item) if isinstance(item, str) else "" for item in value]


def _refusals(k: Kustomization, tree: SourceTree, display: DisplayPath, limits: Limits) -> list[Diagnostic]:
    doc, found = k.doc, []
    for key in HELM_KEYS:
        if key in doc.data:
            found.append(
                _refusal(
                    doc.positions.get(f"/{key}", doc.location),
                    f"{key}: gpuctl does not inflate Helm charts; let the tool that owns the chart "
                    "render it (a Flux HelmRelease or an Argo CD Application passes through as a "
                    "custom resource), or commit the rendered manifests",
                )
            )
    for key in REFERENCE_KEYS:
        for index, entry in enumerate(_entries(doc.data, key)):
            where = doc.positions.get(f"/{key}/{index}", doc.location)
            if is_remote(entry):
                found.append(
                    _refusal(
                        where,
                        f"remote {key[:-1]} {entry!r}: a build reads only this repository (no "
                        "network); vendor the base into the repository and name its directory",
                    )
                )
            elif entry and join(k.directory, entry) is None:
                found.append(
                    _refusal(
                        where,
                        f"{key[:-1]} {entry!r} is outside the repository; only its own files can be built",
                    )
                )
    for key in PLUGIN_KEYS:
        for index, entry in enumerate(_entries(doc.data, key)):
            where = doc.positions.get(f"/{key}/{index}", doc.location)
            problem = _plugin_problem(entry, k.directory, tree, limits)
            if problem:
                found.append(_refusal(where, f"{key}: {problem}; no code from a repository runs in a build"))
    return found


def _plugin_problem(entry: str, directory: str, tree: SourceTree, limits: Limits) -> str:
    """What is wrong with one plugin entry (inline config or a file of configs), or ''."""
    if "\n" in entry:
        configs = [d.data for d in parse_documents(entry, Origin("inline"), limits)[0]]
    else:
        target = join(directory, entry)
        if target is None or tree.kind(target) != "file":
            return ""  # a directory of configs (a kustomization) or a missing file: kustomize says
        text = (tree.read(target) or b"").decode("utf-8", "replace")
        configs = [d.data for d in parse_documents(text, Origin(target), limits)[0]]
    for config in configs:
        if not isinstance(config, dict):
            continue
        meta = config.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(annotations, dict) and any(a in annotations for a in FUNCTION_ANNOTATIONS):
            return f"{config.get('kind')} is a KRM function (exec or container plugin)"
        if not str(config.get("apiVersion", "")).startswith("builtin"):
            return (
                f"{config.get('apiVersion')} {config.get('kind')} is an external plugin (only builtin ones)"
            )
    return ""


def _refusal(where: SourceLocation, message: str) -> Diagnostic:
    return Diagnostic(where, Severity.ERROR, message, RULE_REFUSED)

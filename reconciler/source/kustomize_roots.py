"""The kustomization roots of a tree: every kustomization no other one uses as a base.

Called by `gpuctl validate --all`. In a repository laid out as Flux and Argo CD users do
(`base/`, `clusters/prod`, `clusters/staging`) the roots are the per-cluster overlays; a base
(or component) is built as part of each overlay that names it, not on its own.
"""

from __future__ import annotations

import posixpath

from reconciler.source.kustomize_scan import DisplayPath, local_bases, read_kustomization
from reconciler.source.kustomize_tree import KUSTOMIZATION_FILES, SourceTree
from schemas.diagnostics import Diagnostic
from schemas.kinds import Limits


def kustomization_roots(tree: SourceTree, under: str = "") -> list[str]:
    """Tree paths of the directories under `under` whose kustomization no other uses, sorted."""
    display = DisplayPath(under)
    directories: list[str] = []
    used: set[str] = set()
    ignored: list[Diagnostic] = []  # a broken kustomization is reported when its root is built
    for file in tree.files_under(under):
        if posixpath.basename(file.path) not in KUSTOMIZATION_FILES or file.escapes_to is not None:
            continue
        directory = posixpath.dirname(file.path)
        if directory in directories:
            continue  # two spellings of the file in one directory: kustomize refuses it on build
        directories.append(directory)
        k = read_kustomization(tree, file.path, display(file.path), Limits(), ignored)
        if k is not None:
            used.update(base for _, base in local_bases(k, tree))
    return sorted(d for d in directories if d not in used)

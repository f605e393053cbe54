"""The files a kustomize build may read: a directory on disk or the tree of a Git commit.

Called by `reconciler.source.kustomize_scan` (reading kustomization files) and
`reconciler.source.kustomize` (materialising what the build needs). Paths are POSIX paths
relative to the tree's root (`""` is the root itself); a path leaving the root does not exist.
Files of any name are listed (kustomize reads `.env`, `.properties`, `.json` files), hidden ones
skipped, symlinks leaving the root reported as the loader does.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from reconciler.source.errors import RevisionNotFoundError, SourceError
from reconciler.source.files import RepoFile, walk_directory, walk_git_tree

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

Kind = Literal["file", "dir"]
_SYMLINK_MODE = 0o120000


class SourceTree(Protocol):
    """Read access to a repository tree, by root-relative POSIX path."""

    def kind(self, path: str) -> Kind | None:
        """`file`, `dir`, or None when nothing (or a path leaving the root) is there."""

    def files_under(self, directory: str) -> list[RepoFile]:
        """Every non-hidden file under `directory`, paths relative to the tree root."""

    def read(self, path: str) -> bytes | None:
        """The bytes of the regular file at `path` (not a symlink leaving the root), or None."""


def inside(path: str) -> str | None:
    """`path` normalised, or None when it leaves the root (`..`) or is absolute."""
    if path.startswith("/"):
        return None
    normal = posixpath.normpath(path) if path else ""
    if normal == ".":
        return ""
    if normal == ".." or normal.startswith("../"):
        return None
    return normal


def join(directory: str, entry: str) -> str | None:
    """`entry` (as written in a kustomization in `directory`) as a root-relative path."""
    if entry.startswith("/"):
        return None
    return inside(posixpath.join(directory, entry) if directory else entry)


def kustomization_file(tree: SourceTree, directory: str) -> str | None:
    """The kustomization file of `directory`, if it has one (kustomize's three names)."""
    for name in KUSTOMIZATION_FILES:
        path = posixpath.join(directory, name) if directory else name
        if tree.kind(path) == "file":
            return path
    return None


def _any_name(_: str) -> bool:
    return True


@dataclass(frozen=True)
class DiskTree:
    """A directory on disk."""

    root: Path

    def kind(self, path: str) -> Kind | None:
        normal = inside(path)
        if normal is None:
            return None
        target = self.root / normal
        if target.is_symlink() and not target.resolve().is_relative_to(self.root.resolve()):
            return None
        if target.is_dir():
            return "dir"
        return "file" if target.is_file() else None

    def files_under(self, directory: str) -> list[RepoFile]:
        return walk_directory(self.root, self.root / directory, _any_name)

    def read(self, path: str) -> bytes | None:
        if self.kind(path) != "file":
            return None
        return (self.root / path).read_bytes()


@dataclass(frozen=True)
class GitTree:
    """The tree of one Git commit, read without a checkout."""

    tree: Any

    @classmethod
    def at(cls, repo_path: Path, sha: str) -> GitTree:
        import git

        try:
            return cls(git.Repo(repo_path, search_parent_directories=False).commit(sha).tree)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as err:
            raise SourceError(f"{repo_path}: not a Git repository") from err
        except (git.BadName, ValueError) as err:
            raise RevisionNotFoundError(f"{repo_path}: no revision {sha!r}") from err

    def _item(self, path: str) -> Any:
        normal = inside(path)
        if normal is None:
            return None
        if not normal:
            return self.tree
        try:
            return self.tree / normal
        except KeyError:
            return None

    def kind(self, path: str) -> Kind | None:
        item = self._item(path)
        if item is None:
            return None
        return "dir" if item.type == "tree" else "file"

    def files_under(self, directory: str) -> list[RepoFile]:
        item = self._item(directory)
        if item is None or item.type != "tree":
            return []
        # Item paths of a sub-tree are full repository paths, so symlinks are judged against
        # the repository root, as the plain loader does.
        return walk_git_tree(item, "", _any_name)

    def read(self, path: str) -> bytes | None:
        item = self._item(path)
        if item is None or item.type != "blob" or item.mode == _SYMLINK_MODE:
            return None
        data: bytes = item.data_stream.read()
        return data

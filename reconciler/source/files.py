"""Listing the YAML files of a desired-state repository, from a directory or a Git tree.

Called by `reconciler.source.loader`. Both sources yield the same `RepoFile` records
(path relative to the repository root, POSIX separators), so loading does not care where
bytes come from. Symlinks are resolved here: one that leaves the root is reported; one that
stays inside is skipped, because its target is listed anyway. Git trees are read at a
revision without a checkout (GitPython).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reconciler.source.errors import RevisionNotFoundError, SourceError
from reconciler.source.refs import check_revision, check_subpath

YAML_SUFFIXES = (".yaml", ".yml")
SETTINGS_FILES = ("gpuctl.yaml", "gpuctl.yml")


@dataclass(frozen=True)
class RepoFile:
    """One file of the repository. `escapes_to` is set for a symlink leaving the root."""

    path: str
    size: int
    reader: FileReader | None = None
    escapes_to: str | None = None

    def read(self) -> bytes:
        if self.reader is None:
            raise SourceError(f"{self.path} has no content to read")
        return self.reader.read()


class FileReader(Protocol):
    """Reads one file's bytes on demand."""

    def read(self) -> bytes: ...


@dataclass(frozen=True)
class _DiskReader:
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class _BlobReader:
    blob: Any

    def read(self) -> bytes:
        data: bytes = self.blob.data_stream.read()
        return data


def is_yaml(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES)


def directory_files(root: Path) -> list[RepoFile]:
    """Every YAML file under `root`. Hidden files and directories (`.git`, `.github`,
    `.pre-commit-config.yaml`) are tooling, not desired state, and are skipped."""
    if not root.exists():
        raise SourceError(f"{root}: no such directory")
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory")
    return walk_directory(root, root, is_yaml)


def walk_directory(root: Path, start: Path, keep: Callable[[str], bool]) -> list[RepoFile]:
    """The files under `start` whose name `keep` accepts, with paths relative to `root`;
    symlinks leaving `root` are reported (kustomize reads files of any name, YAML or not)."""
    real_root = root.resolve()
    found: list[RepoFile] = []
    for current, dirs, names in os.walk(start, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(current)
        for name in list(dirs):
            linked = base / name
            if linked.is_symlink():
                dirs.remove(name)
                target = linked.resolve()
                if not target.is_relative_to(real_root):
                    found.append(_escaping(linked, root, str(target)))
        for name in sorted(names):
            if not keep(name) or name.startswith("."):
                continue
            path = base / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    found.append(_escaping(path, root, str(target)))
                continue
            found.append(RepoFile(path.relative_to(root).as_posix(), path.stat().st_size, _DiskReader(path)))
    return found


def _escaping(path: Path, root: Path, target: str) -> RepoFile:
    return RepoFile(path.relative_to(root).as_posix(), 0, None, escapes_to=target)


def git_tree_files(repo_path: Path, revision: str, subpath: str = "") -> tuple[str, list[RepoFile]]:
    """The commit SHA of `revision` and every YAML file of `subpath` in its tree, read
    without a checkout."""
    import git

    try:
        repo = git.Repo(repo_path, search_parent_directories=False)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError) as err:
        raise SourceError(f"{repo_path}: not a Git repository") from err
    try:
        check_revision(revision)
        prefix = check_subpath(subpath)
    except ValueError as err:
        raise SourceError(str(err)) from err
    try:
        commit = repo.commit(revision)
        tree = commit.tree
    except (git.BadName, ValueError, git.GitCommandError, KeyError, AttributeError) as err:
        raise RevisionNotFoundError(f"{repo_path}: no revision {revision!r}") from err
    if prefix:
        try:
            tree = tree / prefix
        except KeyError as err:
            raise SourceError(f"{prefix!r} does not exist at revision {revision}") from err
        if tree.type != "tree":
            raise SourceError(f"{prefix!r} is not a directory at revision {revision}")
    return commit.hexsha, sorted(_walk_tree(tree, prefix, is_yaml), key=lambda f: f.path)


def containing_repository(path: Path) -> tuple[Path, str]:
    """The work tree root of the Git repository holding `path`, and `path` relative to it."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError) as err:
        raise SourceError(f"{path}: not inside a Git repository") from err
    top = Path(repo.working_tree_dir or path).resolve()
    relative = path.resolve().relative_to(top).as_posix()
    return top, "" if relative == "." else relative


def walk_git_tree(tree: Any, prefix: str, keep: Callable[[str], bool]) -> list[RepoFile]:
    """The blobs under `prefix` of a Git tree whose name `keep` accepts, paths relative to
    `prefix` (symlinks leaving it reported), sorted."""
    return sorted(_walk_tree(tree, prefix, keep), key=lambda f: f.path)


def _walk_tree(tree: Any, prefix: str, keep: Callable[[str], bool]) -> Iterator[RepoFile]:
    symlink_mode = 0o120000
    for item in tree.traverse():
        if item.type != "blob":
            continue
        relative = item.path[len(prefix) + 1 :] if prefix else item.path
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        if item.mode == symlink_mode:
            target = item.data_stream.read().decode("utf-8", "replace")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                yield RepoFile(relative, 0, None, escapes_to=target)
            continue
        if keep(relative):
            yield RepoFile(relative, item.size, _BlobReader(item))

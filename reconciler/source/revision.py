"""What revision is applied, for the audit record: a named Git revision, or the commit a
directory's working tree holds (sha, author, subject), marked `-dirty` when files under it
differ from that commit; `working-tree` outside Git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.results import RevisionInfo


def describe_commit(path: Path, revision: str) -> RevisionInfo:
    """The commit `revision` of the Git repository holding `path` (which must exist there)."""
    import git

    repo = git.Repo(path, search_parent_directories=True)
    commit = repo.commit(revision)
    return _info(commit, commit.hexsha, _subpath(repo, path))


def describe_revision(repo_path: Path, revision: str, subpath: str = "") -> RevisionInfo:
    """The commit `revision` of the repository at `repo_path`, recorded as read from `subpath`."""
    import git

    commit = git.Repo(repo_path).commit(revision)
    return _info(commit, commit.hexsha, subpath)


def describe_directory(path: Path) -> RevisionInfo:
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return RevisionInfo(sha="working-tree", path=str(path))
    subpath = _subpath(repo, path)
    dirty = repo.is_dirty(untracked_files=True, path=subpath or None)
    return _info(commit, commit.hexsha + ("-dirty" if dirty else ""), subpath)


def _subpath(repo: Any, path: Path) -> str:
    root = Path(repo.working_tree_dir or path).resolve()
    return str(path.resolve().relative_to(root)) if path.resolve() != root else ""


def _info(commit: Any, sha: str, subpath: str) -> RevisionInfo:
    message = str(commit.message).strip().splitlines()[0] if commit.message else ""
    return RevisionInfo(
        sha=sha, author=f"{commit.author.name} <{commit.author.email}>", message=message, path=subpath
    )

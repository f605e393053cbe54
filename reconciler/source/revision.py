"""What revision a directory holds, for the audit record: the Git commit (sha, author,
message) when the directory is inside a Git working tree, marked `-dirty` when files under
it differ from that commit; `working-tree` otherwise."""

from __future__ import annotations

from pathlib import Path

from schemas.results import RevisionInfo


def describe_directory(path: Path) -> RevisionInfo:
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return RevisionInfo(sha="working-tree", path=str(path))
    root = Path(repo.working_tree_dir or path).resolve()
    subpath = str(path.resolve().relative_to(root)) if path.resolve() != root else ""
    dirty = repo.is_dirty(untracked_files=True, path=subpath or None)
    message = str(commit.message).strip().splitlines()[0] if commit.message else ""
    return RevisionInfo(
        sha=commit.hexsha + ("-dirty" if dirty else ""),
        author=f"{commit.author.name} <{commit.author.email}>",
        message=message,
        path=subpath,
    )

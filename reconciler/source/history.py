"""Questions about a followed repository's history that the daemon and the CLI ask before or
beside a load: which commit a revision names, whether a new revision rewrites the history of
the one applied last, and a single file as committed at a revision."""

from __future__ import annotations

from pathlib import Path


def commit_sha(repo_path: Path, revision: str) -> str | None:
    """The full sha `revision` names in the repository at `repo_path`; None when it names
    none (the load that follows reports why)."""
    import git

    try:
        return str(git.Repo(repo_path).commit(revision).hexsha)
    except (ValueError, KeyError, git.BadName, git.GitError):
        return None


def rewrites_history(repo_path: Path, previous: str, revision: str) -> bool:
    """Whether `revision` replaces history: `previous` is a commit of this repository that is
    not in `revision`'s history. A `previous` this repository does not know (another
    repository, a working-tree pass, a collected commit) tells nothing: False."""
    import git

    repo = git.Repo(repo_path)
    try:
        old = repo.commit(previous)
    except (git.BadName, ValueError):
        return False
    try:
        return not repo.is_ancestor(old, repo.commit(revision))
    except (git.GitCommandError, git.BadName, ValueError):
        return False


def file_at_revision(where: Path, revision: str, relative: str, into: Path) -> Path:
    """The file `relative` (to `where`, inside a Git work tree) as committed at `revision`,
    copied into the directory `into`; FileNotFoundError when that revision lacks it."""
    import git

    repo = git.Repo(where, search_parent_directories=True)
    top = Path(repo.working_tree_dir or where).resolve()
    inside = ((where.resolve() / relative).resolve()).relative_to(top).as_posix()
    try:
        blob = repo.commit(revision).tree / inside
    except KeyError as err:
        raise FileNotFoundError(f"{inside} is not in revision {revision}") from err
    target = into / Path(inside).name
    target.write_bytes(blob.data_stream.read())
    return target

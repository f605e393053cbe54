"""The demo's Git repository: a fresh repository holding a copy of the example desired state
(`desired_state/` beside the installed packages, as an editable install or a source checkout
has it), with a local commit identity, and the edits the tour commits (on the followed
branch, or on a proposal branch in its own worktree so the daemon's checkout is untouched)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import git

from gpuctl.demo.errors import DemoFailure

BRANCH = "main"
AUTHOR_NAME = "gpuctl demo"
AUTHOR_EMAIL = "demo@gpuctl.invalid"


@dataclass(frozen=True)
class Edit:
    """Replace the one occurrence of `old` by `new` in the file `relpath`."""

    relpath: str
    old: str
    new: str


def example_state() -> Path:
    """The example repository shipped with gpuctl (`desired_state/` at the project root)."""
    root = Path(__file__).resolve().parents[2] / "desired_state"
    if not (root / "gpuctl.yaml").is_file():
        raise DemoFailure(
            f"the example desired state is not at {root}: run the demo from a source checkout "
            "(`make demo` installs gpuctl editable) or pass --source DIR"
        )
    return root


class DemoRepo:
    """A Git repository on `BRANCH` whose first commit is a copy of `source`."""

    def __init__(self, path: Path, source: Path) -> None:
        if path.exists() and any(path.iterdir()):
            raise DemoFailure(f"{path} is not empty: the demo needs a fresh directory for its repository")
        shutil.copytree(source, path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        self.path = path
        self.repo = git.Repo.init(path, initial_branch=BRANCH)
        with self.repo.config_writer() as config:  # this repository only, never the global config
            config.set_value("user", "name", AUTHOR_NAME)
            config.set_value("user", "email", AUTHOR_EMAIL)
            config.set_value("commit", "gpgsign", "false")
        self.repo.git.add("--all")
        self.repo.git.commit("--quiet", "-m", "Example desired state for the gpuctl demo")

    @property
    def head(self) -> str:
        return self.repo.head.commit.hexsha

    def commit_edit(self, edit: Edit, message: str) -> str:
        """Commit `edit` on the followed branch; the new commit's SHA."""
        return _commit_edit(self.repo, self.path, edit, message)

    def propose(self, branch: str, edit: Edit, message: str) -> str:
        """Commit an edit on a new `branch` from the current head, in a separate worktree."""
        worktree = self.path.parent / f"{self.path.name}-{branch.replace('/', '-')}"
        self.repo.git.worktree("add", "--quiet", "-b", branch, str(worktree))
        try:
            return _commit_edit(git.Repo(worktree), worktree, edit, message)
        finally:
            self.repo.git.worktree("remove", "--force", str(worktree))


def _commit_edit(repo: git.Repo, root: Path, edit: Edit, message: str) -> str:
    path = root / edit.relpath
    text = path.read_text(encoding="utf-8")
    if text.count(edit.old) != 1:
        raise DemoFailure(f"{edit.relpath}: expected exactly one {edit.old!r} to change into {edit.new!r}")
    path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    repo.git.add(edit.relpath)
    repo.git.commit("--quiet", "-m", message)
    return repo.head.commit.hexsha

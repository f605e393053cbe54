"""What every trigger shares: the `Submit` callable into the work queue and the
`RevisionSource` Protocol (what revision the repository is at now)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from reconciler.errors import TerminalError
from schemas.results import Trigger

Submit = Callable[[str, Trigger], None]
"""Ask for a reconcile of a revision; the work queue's `submit`."""


class RevisionSource(Protocol):
    """A followed repository: where the revisions are read from and what is newest."""

    def current(self) -> str:
        """The newest known revision (commit SHA, or `worktree:<digest>`)."""


class TriggerError(TerminalError):
    """A trigger could not start (not a repository, branch missing): terminal, with the reason."""

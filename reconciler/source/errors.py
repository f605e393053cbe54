"""Errors of the source layer. Problems *in* the repository are diagnostics, not exceptions;
these are for not being able to read it at all.

`SourceError` is terminal (a missing path, not a Git repository): retrying will not help.
`TransientSourceError` marks failures a daemon should retry with backoff (a fetch that timed
out); the loaders here raise only terminal errors, fetchers may raise transient ones. They are
the engine's `TerminalError` and `TransientError`.
"""

from __future__ import annotations

from reconciler.errors import TerminalError, TransientError


class SourceError(TerminalError):
    """The repository or revision cannot be read (terminal)."""


class RevisionNotFoundError(SourceError):
    """The requested Git revision does not exist."""


class TransientSourceError(TransientError):
    """Reading failed for a reason that may go away (network, lock); retry later."""

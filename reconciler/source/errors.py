"""Errors of the source layer. Problems *in* the repository are diagnostics, not exceptions;
these are for not being able to read it at all.

`SourceError` is terminal (a missing path, not a Git repository): retrying will not help.
`TransientSourceError` marks failures a daemon should retry with backoff (a fetch that timed
out); the loaders here raise only terminal errors, fetchers may raise transient ones.
"""

from __future__ import annotations


class SourceError(Exception):
    """The repository or revision cannot be read (terminal)."""


class RevisionNotFoundError(SourceError):
    """The requested Git revision does not exist."""


class TransientSourceError(Exception):
    """Reading failed for a reason that may go away (network, lock); retry later."""

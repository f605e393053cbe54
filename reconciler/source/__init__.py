"""The source layer: read a desired-state repository (directory or Git revision) and return
a validated `DesiredState` with every finding (`LoadResult`)."""

from reconciler.source.errors import RevisionNotFoundError, SourceError, TransientSourceError
from reconciler.source.loader import (
    LoadResult,
    load_directory,
    load_files,
    load_path_at_revision,
    load_revision,
)

__all__ = [
    "LoadResult",
    "RevisionNotFoundError",
    "SourceError",
    "TransientSourceError",
    "load_directory",
    "load_files",
    "load_path_at_revision",
    "load_revision",
]

"""Shared fixtures of the reconciler tests (see `repo_fixtures` for the repositories)."""

from tests.reconciler.repo_fixtures import load_repo

__all__ = ["load_repo"]

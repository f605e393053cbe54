"""Fixtures of the source-layer tests (the kustomize tests ask for `kustomize_tool`)."""

from tests.reconciler.source.kustomize_support import kustomize_tool

__all__ = ["kustomize_tool"]

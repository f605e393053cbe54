"""The sandbox's errors, one tree under `schemas.errors.Terminal`: a request the embedded API
server answers with a Kubernetes `Status` (`sandbox.api.errors.ApiError`) or a GPU layout it
cannot apply (`sandbox.gpu.nodes.LayoutError`)."""

from __future__ import annotations

from schemas.errors import Terminal


class SandboxError(Terminal):
    """Base of every error the sandbox raises on purpose."""

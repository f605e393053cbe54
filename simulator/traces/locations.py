"""Where the shared public traces live: `$GPUCTL_TRACES_DIR`, else `../shared/traces` beside
the repository root (CI clones the repository with a copy of `shared/` next to it)."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def shared_traces_dir() -> Path:
    override = os.environ.get("GPUCTL_TRACES_DIR")
    return Path(override) if override else REPOSITORY_ROOT.parent / "shared" / "traces"

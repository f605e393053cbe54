"""The engine's daemon assembly never starts the sandbox itself: the application hands it one."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.daemon.assembly import assemble
from reconciler.daemon.settings import load_settings
from reconciler.errors import TerminalError


def test_engine_assembly_refuses_sandbox_settings_without_a_cluster(tmp_path: Path) -> None:
    """Sandbox settings with no cluster handed in: a terminal error that names gpuctl.assembly."""
    settings = load_settings({
        "repo": str(tmp_path), "sandbox": True, "listen": "127.0.0.1:0",
        "audit_db": str(tmp_path / "audit.db"), "cache_dir": str(tmp_path / "cache"),
    })
    with pytest.raises(TerminalError, match=r"gpuctl\.assembly"), assemble(settings):
        pass
    assert not (tmp_path / "audit.db").exists()

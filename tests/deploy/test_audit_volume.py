"""The audit volume as the image's non-root user finds it: a directory it cannot write (a
hostPath or local volume ignoring the Pod's fsGroup) fails with one message naming the
directory's owner and mode, the process's uid and gid, and the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sandbox.node.image_spec import GPUCTL_IMAGE

OPEN = (
    "import sys; from pathlib import Path; from reconciler.audit.store import SqliteAuditLog; "
    "SqliteAuditLog(Path(sys.argv[1]))"
)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run as the image's user")
def test_unwritable_audit_directory_names_owner_user_and_fix():
    """Opening the audit log in a root-owned 0755 directory as uid 65532 explains why and what to do."""
    with tempfile.TemporaryDirectory(prefix="gpuctl-audit-volume-") as scratch:
        top = Path(scratch)
        top.chmod(0o755)  # reachable by the image's user, as a volume's mount point is
        volume = top / "audit"
        volume.mkdir(mode=0o755)
        _check(volume)


def _check(volume: Path) -> None:
    uid, gid = GPUCTL_IMAGE.uid, GPUCTL_IMAGE.gid
    result = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
         sys.executable, "-c", OPEN, str(volume / "audit.db")],
        capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(volume)}, cwd="/",
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert f"{volume}/audit.db: cannot open the audit database" in last
    assert f"owned by 0:0 with mode drwxr-xr-x, not writable by uid {uid} gid {gid}" in last
    assert "fsGroup, or chown it" in last

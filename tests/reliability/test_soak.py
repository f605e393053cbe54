"""The soak itself, run for 30 s on a real control plane: its invariants hold and it prints
every figure it promises (so that `python -m bench.soak --minutes 2` in CI checks something)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kube.fixtures import require_assets

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_keeps_its_invariants(tmp_path):
    """A 30 s soak with a commit every 5 s, drift every 10 s and a MIG change after 10 s, 5 %
    API faults: exit code 0, every write audited once, every commit applied, the rollout done."""
    require_assets()
    command = [sys.executable, "-m", "bench.soak", "--minutes", "0.5", "--commit-every", "5",
               "--drift-every", "10", "--mig-every", "10", "--keep", str(tmp_path / "soak")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "soak: passed" in out and "INVARIANT BROKEN" not in out
    audited = re.search(r"writes recorded\): (\d+); cluster writes .*?: (\d+); lost 0, duplicate 0", out)
    assert audited and audited.group(1) == audited.group(2) and int(audited.group(1)) > 0, out
    commits = re.search(r"commits: (\d+) .*applied (\d+) of (\d+)", out)
    assert commits and int(commits.group(1)) >= 4 and commits.group(2) == commits.group(3), out
    rollouts = re.search(r"rollouts completed: (\d+) of (\d+)", out)
    assert rollouts and rollouts.group(1) == rollouts.group(2) != "0", out
    assert re.search(r"faults injected [1-9]", out), out
    for label in ("start", "warm", "end"):
        assert re.search(rf"{label}: RSS [\d.]+ MB, open fds \d+", out), out

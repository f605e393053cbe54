"""`gpuctl demo` end to end, as a user runs it: a subprocess on the sandbox that must finish
with exit 0 and show each step's outcome; Ctrl-C/SIGTERM and a failing step clean up."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import git
import pytest

from gpuctl.demo import DemoOptions, Narrator, run_demo
from gpuctl.demo.workspace import example_state

ROOT = Path(__file__).resolve().parents[2]
H100_NODES = 4
ROLLOUT_ORDER = ["cordoned", "draining", "reconfiguring", "done"]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_demo_tour_succeeds_and_shows_every_step(tmp_path):
    """The tour exits 0 and prints the first apply, each node reconfigured, the drift
    correction, the simulation gate and a verified audit log; --keep keeps its files."""
    kept = tmp_path / "kept"
    done = subprocess.run([sys.executable, "-m", "gpuctl", "demo", "--keep", str(kept)],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=150, check=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert re.search(r"First apply of [0-9a-f]{7}", out)
    assert re.search(r"ok first apply: \d+ objects created or configured", out)
    for i in range(H100_NODES):
        states = re.findall(rf"^  h100-inference-{i}: (\w+)", out, re.MULTILINE)
        # In order; the watch feed normally shows all four (a very slow machine may merge the first two).
        assert states == sorted(states, key=ROLLOUT_ORDER.index) and states[-2:] == ["reconfiguring", "done"]
        assert {"cordoned", "draining"} & set(states)
        assert f"h100-inference-{i} reconfigured to inference-small, 2 pods evicted" in out
    assert "at most 1 node(s) unavailable at a time" in out
    assert re.search(r"ok drift corrected in \d+\.\d\d s: hard\.pods is 64 again", out)
    assert "gate failed: --fail-if 'unschedulable > +10%'" in out + done.stderr
    assert re.search(r"audit log .* OK: \d+ entries verified", out)
    assert "ok demo finished" in out
    assert "\x1b[" not in out  # not a terminal: no colours or redraws
    repo = git.Repo(kept / "repo")
    assert [c.message.splitlines()[0] for c in repo.iter_commits("main")] == [
        "h100-inference: MIG layout all-balanced -> inference-small",
        "Example desired state for the gpuctl demo",
    ]
    assert "proposal/h100-half-split" in [h.name for h in repo.heads]
    assert (kept / "audit.db").is_file() and (kept / "daemon.log").stat().st_size > 0


def test_sigterm_stops_everything_and_removes_the_temporary_directory():
    """SIGTERM during the MIG rollout exits 130 after stopping the daemon and the sandbox
    and removing the temporary directory."""
    command = [sys.executable, "-m", "gpuctl", "demo", "--no-simulate"]
    proc = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    workdir = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = re.search(r"into a new Git repository \((.+)/repo\)", line)
            if found:
                workdir = Path(found.group(1))
            if line.startswith("committed "):  # the MIG rollout is starting
                break
        assert workdir is not None and workdir.is_dir()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted during" in err
    assert not workdir.exists()


def test_failing_step_exits_1_naming_it(tmp_path, capsys):
    """A step whose condition does not hold stops the tour with exit 1 and says what failed."""
    source = tmp_path / "state"
    shutil.copytree(example_state(), source)
    (source / "pools" / "h100-inference.yaml").unlink()
    kept = tmp_path / "kept"
    code = run_demo(DemoOptions(keep=kept, source=source), Narrator(interactive=False))
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED A GPU cluster (the embedded sandbox) with inference jobs running" in err
    assert "the demo needs pool h100-inference with MIG config all-balanced" in err

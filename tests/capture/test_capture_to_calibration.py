"""Capture → export → simulate → calibrate on the sandbox: a queueing workload run by the
sandbox is captured, exported as a gpuctl CSV trace that the simulator reads, and the
calibration report compares the replay with what the sandbox did, per team and per pool."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sandbox
from gpuctl.cli import app
from reconciler.capture.pods import Outcome
from reconciler.source import load_directory
from tests.capture.sandbox_pods import EXAMPLE, INFERENCE, create_pods, owner, wait_until
from tests.capture.test_capture_sandbox import start_session

pytestmark = pytest.mark.slow
runner = CliRunner()
TRAINING_JOBS = 9  # 2 pods × 8 GPUs each: 144 GPUs asked of a 48-GPU pool, so jobs queue


def run_captured_workload(db: Path) -> None:
    """Training gangs that queue on a100-training and MIG pods on h100-inference, captured in `db`."""
    state = load_directory(EXAMPLE).state
    assert state is not None
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=200.0, tls=False) as cluster:
        session = start_session(cluster, state, db)
        try:
            for index in range(TRAINING_JOBS):
                create_pods(cluster, f"train{index}", 2, namespace="team-train", per_pod=8, runtime_s=300,
                            owner_ref=owner("Job", f"train{index}", "batch/v1"))
            for index in range(4):
                create_pods(cluster, f"serve{index}", 1, namespace="team-serve", runtime_s=120,
                            resource="nvidia.com/mig-1g.10gb", pool=INFERENCE,
                            owner_ref=owner("Job", f"serve{index}", "batch/v1"))
            expected = TRAINING_JOBS + 4

            def all_ended() -> bool:
                jobs = session.store.jobs()
                return len(jobs) == expected and all(j.outcome == Outcome.SUCCEEDED for j in jobs)

            assert wait_until(all_ended, 60)
        finally:
            session.stop()


def test_capture_export_simulate_and_calibrate(tmp_path: Path) -> None:
    """The captured trace replays in the simulator; the calibration reports errors per team and pool."""
    db = tmp_path / "capture.db"
    run_captured_workload(db)

    out = tmp_path / "week.csv"
    store = ["--capture-db", str(db)]
    exported = runner.invoke(app, ["trace", "export", "--since", "7d", *store, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == TRAINING_JOBS + 4
    train = [r for r in rows if r["team"] == "team-train"]
    assert {(r["pods"], r["gpus"], r["pool"]) for r in train} == {("2", "8", "a100-training")}
    # 48 GPUs run three 16-GPU gangs at a time: three waves, the last waits about two runtimes.
    waits = sorted(float(r["observed_wait"]) for r in train)
    assert waits[-1] >= 500, waits

    simulated = runner.invoke(app, ["simulate", str(EXAMPLE), "--trace", "captured:7d", *store, "-f", "json"])
    assert simulated.exit_code == 0, simulated.output
    run = json.loads(simulated.output)["runs"][0]
    assert run["workload"]["jobs"] == TRAINING_JOBS + 4
    assert run["metrics"]["jobs"]["completed"] == TRAINING_JOBS + 4

    calibrated = runner.invoke(app, ["simulate", "calibrate", str(EXAMPLE), "--trace", "captured:7d", *store,
                                     "--json"])
    assert calibrated.exit_code == 0, calibrated.output
    report = json.loads(calibrated.output)
    assert report["jobs"] == TRAINING_JOBS + 4 and report["not_started_in_simulation"] == 0
    team = report["by_team"]["team-train"]
    assert team["observed_wait_s"]["jobs"] == TRAINING_JOBS
    # The simulator queues the same three waves: its mean wait is within a tenth of a runtime.
    assert abs(team["wait_error_s"]) <= 30, team
    pool = report["by_pool"]["a100-training"]
    assert pool["jobs_observed"] == pool["jobs_simulated"] == TRAINING_JOBS
    assert pool["observed_devices_mean"] > 0 and pool["allocation_mae_relative"] <= 0.2, pool
    assert report["by_pool"]["h100-inference"]["jobs_simulated"] == 4

    wide = {"COLUMNS": "160"}
    text = runner.invoke(app, ["simulate", "calibrate", str(EXAMPLE), "--trace", str(out)], env=wide)
    assert text.exit_code == 0, text.output
    assert "team-train" in text.output and "a100-training" in text.output

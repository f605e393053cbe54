"""`gpuctl trace export`, `simulate --trace captured:` and `simulate calibrate` on real store and
trace files: what they write, and their errors (exit 2, a message naming the file and the fix)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.capture import CaptureStore, PodRecord
from reconciler.capture.pods import Outcome
from tests.capture.sandbox_pods import EXAMPLE

runner = CliRunner()


def pod(uid: str, job: str, created: float, started: float, finished: float | None) -> tuple[PodRecord, str]:
    outcome = Outcome.SUCCEEDED if finished is not None else Outcome.RUNNING
    record = PodRecord(
        uid=uid, namespace="team-vision", name=uid, job_key=job, owner_key=job, job_kind="PyTorchJob",
        job_name=job, resource="nvidia.com/gpu", per_pod=8, queue="training", priority=0, node="n",
        created=created, started=started, finished=finished, outcome=outcome,
    )
    return record, "a100-training"


def make_store(path: Path, now: float) -> None:
    store = CaptureStore(path)
    store.record([
        pod("a0", "a", now - 3000, now - 2990, now - 1000),
        pod("a1", "a", now - 3000, now - 2980, now - 1000),
        pod("b0", "b", now - 2000, now - 1000, now - 400),
        pod("old", "old", now - 30 * 86400, now - 30 * 86400 + 5, now - 29 * 86400),
        pod("r0", "running", now - 100, now - 90, None),
    ])
    store.close()


def test_export_writes_the_window_and_counts_what_it_left_out(tmp_path: Path) -> None:
    """--since keeps jobs submitted in the window; running jobs are counted on stderr, not written."""
    db = tmp_path / "capture.db"
    make_store(db, time.time())
    out = tmp_path / "t.csv"
    store = ["--capture-db", str(db)]
    result = runner.invoke(app, ["trace", "export", "--since", "1d", *store, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 job(s) exported; 1 still pending or running left out" in result.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["job_id"], r["arrival"], r["duration"], r["pods"], r["observed_wait"]) for r in rows] == [
        ("team-vision/PyTorchJob/a", "0", "1980", "2", "20"),
        ("team-vision/PyTorchJob/b", "1000", "600", "1", "1000"),
    ]


def test_export_errors_name_the_problem(tmp_path: Path) -> None:
    """A missing store and a bad window exit 2 with a message saying what would be right."""
    missing = runner.invoke(app, ["trace", "export", "--capture-db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2
    assert "none.db: no capture store" in missing.output and "gpuctl run --capture" in missing.output
    make_store(tmp_path / "c.db", 1e9)
    store = ["--capture-db", str(tmp_path / "c.db")]
    bad = runner.invoke(app, ["trace", "export", "--since", "a week", *store])
    assert bad.exit_code == 2 and "write e.g. 7d" in bad.output
    simulate = runner.invoke(app, ["simulate", str(EXAMPLE), "--trace", "captured:7d",
                                   "--capture-db", str(tmp_path / "none.db")])
    assert simulate.exit_code == 2 and "no capture store" in simulate.output


def test_calibrate_rejects_a_trace_without_observations(tmp_path: Path) -> None:
    """A plain CSV trace (no observed columns) cannot be calibrated: exit 2 naming the file and column."""
    trace = tmp_path / "plain.csv"
    trace.write_text("job_id,arrival,duration\nj1,0,60\n")
    result = runner.invoke(app, ["simulate", "calibrate", str(EXAMPLE), "--trace", str(trace)])
    assert result.exit_code == 2
    assert "plain.csv" in result.output and "observed_wait" in result.output


def test_calibrate_reports_json_from_an_exported_trace(tmp_path: Path) -> None:
    """An exported trace calibrates offline: every job starts, teams and pools are reported."""
    db = tmp_path / "capture.db"
    make_store(db, time.time())
    out = tmp_path / "t.csv"
    runner.invoke(app, ["trace", "export", "--since", "1d", "--capture-db", str(db), "--out", str(out)])
    result = runner.invoke(app, ["simulate", "calibrate", str(EXAMPLE), "--trace", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["jobs"] == 2 and report["not_started_in_simulation"] == 0
    team = report["by_team"]["team-vision"]
    assert team["observed_wait_s"]["mean"] == 510.0 and team["simulated_wait_s"]["mean"] == 0.0
    assert team["wait_error_s"] == -510.0
    assert report["by_pool"]["a100-training"]["jobs_simulated"] == 2

"""Calibration error on a sandbox run: a mixed GPU workload (training gangs on A100, PyTorchJobs,
MIG inference pods on H100) arrives in waves on the sandbox, is captured like a real cluster's,
and replayed against the same desired state; prints the per-team and per-pool errors.

    python -m bench.capture_calibration [--speed 200] [--waves 6] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

import sandbox
from gpuctl.cli import app
from reconciler.capture.session import CaptureSession
from reconciler.capture.store import RetentionPolicy
from reconciler.cluster import ConnectionSpec
from reconciler.cluster.connection import api_client_for
from reconciler.source import load_directory
from sandbox.api.handlers import Request
from sandbox.workloads import gpu_pod_manifest

EXAMPLE = Path(__file__).resolve().parents[1] / "desired_state"
TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
# (team, owner kind, pods, resource, per pod, pool, mean runtime s)
SHAPES = (
    ("team-train", "Job", 2, "nvidia.com/gpu", 8, "a100-training", 600.0),
    ("team-research", "PyTorchJob", 4, "nvidia.com/gpu", 2, "a100-training", 300.0),
    ("team-serve", "Job", 1, "nvidia.com/mig-1g.10gb", 1, "h100-inference", 240.0),
)


def launch(cluster: Any, rng: np.random.Generator, wave: int) -> int:
    pod_type = cluster.registry.lookup("", "v1", "pods")
    launched = 0
    for team, kind, pods, resource, per_pod, pool, runtime in SHAPES:
        cluster.api.ensure_namespaces((team,))
        for job in range(int(rng.integers(1, 4))):
            name = f"{kind.lower()}-w{wave}-{job}"
            uid = str(uuid.uuid4())
            ref = {"apiVersion": "batch/v1", "kind": kind, "name": name, "uid": uid, "controller": True}
            seconds = float(np.round(rng.uniform(0.5, 1.5) * runtime))
            for index in range(pods):
                manifest = gpu_pod_manifest(
                    f"{name}-{index}", namespace=team, resource=resource, count=per_pod,
                    runtime_seconds=seconds, node_selector={"gpuctl.dev/pool": pool},
                    tolerations=TOLERATE_GPU,
                )
                manifest["metadata"]["ownerReferences"] = [ref]
                cluster.api.create(Request(pod_type, team, params={"fieldManager": "bench"}), manifest)
            launched += 1
    return launched


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed", type=float, default=200.0)
    parser.add_argument("--waves", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    state = load_directory(EXAMPLE).state
    assert state is not None
    with tempfile.TemporaryDirectory() as tmp, \
            sandbox.start(sandbox.SandboxSpec.from_state(state), speed=args.speed, tls=False) as cluster:
        db = Path(tmp) / "capture.db"
        api = api_client_for(ConnectionSpec(sandbox=str(cluster.kubeconfig_path)))
        session = CaptureSession(api, db, RetentionPolicy(), clock=cluster.clock.now)
        session.recorder.set_pools(state.pools)
        session.start()
        jobs = 0
        for wave in range(args.waves):
            jobs += launch(cluster, rng, wave)
            time.sleep(120.0 / args.speed)  # two sandbox minutes between waves
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = session.store.jobs()
            if len(done) == jobs and all(j.finished for j in done):
                break
            time.sleep(0.2)
        session.stop()
        api.close()
        result = CliRunner().invoke(app, ["simulate", "calibrate", str(EXAMPLE), "--trace", "captured:7d",
                                          "--capture-db", str(db), "-o", "json"])
    report = json.loads(result.output)
    print(f"{report['jobs']} jobs captured over {report['window_s']:.0f} sandbox seconds; "
          f"mean |simulated − observed| wait per job {report['wait_mae_s']:.0f} s")
    for team, row in report["by_team"].items():
        obs, sim = row["observed_wait_s"], row["simulated_wait_s"]
        print(f"  {team}: wait mean observed {obs['mean']:.0f} s, simulated {sim['mean']:.0f} s "
              f"(error {row['wait_error_s']:+.0f} s); p95 error {row['wait_p95_error_s']:+.0f} s")
    for pool, row in report["by_pool"].items():
        print(f"  {pool}: devices held observed {row['observed_devices_mean']:.1f}, simulated "
              f"{row['simulated_devices_mean']:.1f}; mean abs error {row['allocation_mae_devices']:.2f} "
              f"({100 * (row['allocation_mae_relative'] or 0):.0f} %)")


if __name__ == "__main__":
    main()

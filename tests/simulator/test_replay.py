"""Replay engine: conservation, MIG and time-slicing admission, processor sharing, gangs,
queue disciplines and rejection of jobs that can never run."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.kinds import WorkloadProfile
from simulator import SimConfig, SimParameters, run
from simulator.cluster import from_desired_state, uniform
from simulator.cluster.spec import ClusterSpec
from simulator.engine.replay import ReplayEngine
from simulator.jobs import JobTable
from simulator.metrics import JobState
from simulator.placement import Placement
from simulator.traces import generate_from_profile
from tests.simulator.conftest import desired, make_jobs, pool, rng, time_sliced


class InvariantChecker:
    """Checks capacity invariants at every start and finish, and counts both per job."""

    def __init__(self) -> None:
        self.starts: dict[int, int] = {}
        self.finishes: dict[int, int] = {}
        self.resources: dict[int, set[str]] = {}

    def _check(self, engine: ReplayEngine) -> None:
        state, spec = engine.state, engine.state.spec
        assert 0 <= state.allocated_milli <= spec.total_milli
        assert bool(np.all(state.free >= 0)) and bool(np.all(state.free <= spec.device_capacity))
        replicas = np.where(state.cost > 0, spec.device_capacity // np.maximum(state.cost, 1), 0)
        assert bool(np.all(state.tenants <= replicas))
        assert bool(np.all(state.cpu_free >= 0)) and bool(np.all(state.memory_free >= 0))

    def started(self, engine: ReplayEngine, job: int, placements: list[Placement]) -> None:
        self.starts[job] = self.starts.get(job, 0) + 1
        spec = engine.state.spec
        self.resources[job] = {
            spec.resources[spec.device_resource[p.node, d]] for p in placements for d in p.devices
        }
        self._check(engine)

    def finished(self, engine: ReplayEngine, job: int) -> None:
        self.finishes[job] = self.finishes.get(job, 0) + 1
        self._check(engine)


def _mixed_cluster() -> ClusterSpec:
    """A100 whole GPUs, H100 all-balanced (mixed), H100 all-1g (mixed), T4 time-sliced ×3."""
    return from_desired_state(
        desired(
            pool("train", "A100-SXM4-80GB", 8, 2, topology={"nodesPerRack": 1}),
            pool("bal", "H100-SXM5-80GB", 4, 1, mig={"config": "all-balanced", "strategy": "mixed"}),
            pool("small", "H100-SXM5-80GB", 4, 1, mig={"config": "all-1g.10gb", "strategy": "mixed"}),
            pool("nb", "T4", 2, 2, devicePlugin={"config": "ts"}),
            device_plugin={"ts": time_sliced(3)},
        )
    )


def _mixed_workload() -> JobTable:
    def cls(
        name: str, team: str, kind: str, rate: float, request: dict[str, object], **extra: object
    ) -> dict[str, object]:
        return {
            "name": name,
            "team": team,
            "kind": kind,
            "arrival": {"process": "poisson", "ratePerHour": rate},
            "request": request,
            "duration": {"distribution": "exponential", "mean": "20m"},
            **extra,
        }

    profile = WorkloadProfile.model_validate(
        {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "WorkloadProfile",
            "metadata": {"name": "mixed"},
            "spec": {
                "horizon": "24h",
                "classes": [
                    cls(
                        "gang",
                        "vision",
                        "training",
                        2,
                        {"resource": "nvidia.com/gpu", "count": 8},
                        pods=2,
                        gpuModels=["A100-SXM4-80GB"],
                    ),
                    cls("one", "vision", "training", 30, {"resource": "nvidia.com/gpu", "count": 1}),
                    cls("big", "llm", "inference", 20, {"resource": "nvidia.com/mig-3g.40gb", "count": 1}),
                    cls("small", "llm", "inference", 60, {"resource": "nvidia.com/mig-1g.10gb", "count": 1}),
                    cls("never", "llm", "inference", 1, {"resource": "nvidia.com/mig-7g.80gb", "count": 1}),
                    cls(
                        "nb",
                        "research",
                        "notebook",
                        40,
                        {"resource": "nvidia.com/gpu", "count": 1},
                        gpuModels=["T4"],
                    ),
                ],
            },
        }
    )
    return generate_from_profile(profile, rng(3))


@pytest.mark.parametrize("queue", ["fifo", "priority", "best-effort-fifo"])
def test_conservation_and_exactly_one_terminal_state(queue: str) -> None:
    """Allocation never exceeds capacity, time-sliced GPUs never hold more than their replicas,
    and every job starts and finishes once or is rejected once."""
    jobs = _mixed_workload()
    checker = InvariantChecker()
    engine = ReplayEngine(
        _mixed_cluster(), jobs, SimParameters(queue=queue, policy="bin-pack"), rng(1), observer=checker
    )
    summary = engine.run()
    states = engine.recorder.state
    assert set(np.unique(states).tolist()) <= {int(JobState.COMPLETED), int(JobState.UNSCHEDULABLE)}
    completed = np.flatnonzero(states == JobState.COMPLETED).tolist()
    assert checker.starts == dict.fromkeys(completed, 1) == checker.finishes
    assert summary["jobs"]["completed"] + summary["jobs"]["unschedulable"] == len(jobs)
    assert engine.state.allocated_milli == 0
    assert summary["gpu_allocation"]["peak"] <= 1.0


def test_mig_job_only_lands_on_its_profile() -> None:
    """A job asking for nvidia.com/mig-3g.40gb only ever gets 3g.40gb instances, and one asking
    for a profile no GPU carries is rejected at once with the reason."""
    jobs = _mixed_workload()
    checker = InvariantChecker()
    engine = ReplayEngine(_mixed_cluster(), jobs, SimParameters(policy="random"), rng(2), observer=checker)
    summary = engine.run()
    for job, resources in checker.resources.items():
        asked = jobs.resources[jobs.resource[job]]
        if asked.startswith("nvidia.com/mig-"):
            assert resources == {asked}
    assert any(jobs.resources[jobs.resource[j]] == "nvidia.com/mig-3g.40gb" for j in checker.resources)
    never = int((jobs.resource == jobs.resources.index("nvidia.com/mig-7g.80gb")).sum())
    assert summary["jobs"]["unschedulable_reasons"] == {"no node advertises nvidia.com/mig-7g.80gb": never}


def _time_sliced_t4(replicas: int) -> ClusterSpec:
    return from_desired_state(
        desired(
            pool("nb", "T4", 1, 1, devicePlugin={"config": "ts"}), device_plugin={"ts": time_sliced(replicas)}
        )
    )


def test_time_sliced_tenants_share_progress() -> None:
    """Two jobs of work 100 on one GPU sliced two ways run at ½·(1 − 5%) each; when the first
    leaves, the second speeds up to full pace (processor sharing)."""
    jobs = make_jobs(2, arrival=[0.0, 50.0], work=100.0)
    engine = ReplayEngine(_time_sliced_t4(2), jobs, SimParameters(), rng())
    engine.run()
    pace = 0.5 * 0.95
    first_done = 50 + 50 / pace
    assert engine.recorder.finish[0] == pytest.approx(first_done)
    assert engine.recorder.finish[1] == pytest.approx(first_done + (100 - 50) / 1.0)


def test_time_slicing_never_admits_more_than_replicas() -> None:
    """Three jobs on one GPU with 2 replicas: the third waits for a replica to free up."""
    jobs = make_jobs(3, work=10.0)
    engine = ReplayEngine(_time_sliced_t4(2), jobs, SimParameters(), rng(), observer=InvariantChecker())
    engine.run()
    assert engine.recorder.start.tolist() == [0.0, 0.0, pytest.approx(10 / 0.475)]


def test_single_strategy_mig_runs_at_its_sm_share() -> None:
    """A training job on a 1g instance (16 of 132 SMs) advertised as nvidia.com/gpu takes 132/16 × longer."""
    spec = from_desired_state(
        desired(pool("p", "H100-SXM5-80GB", 1, 1, mig={"config": "all-1g.10gb", "strategy": "single"}))
    )
    jobs = make_jobs(1, work=16.0, kinds=["training"])
    engine = ReplayEngine(spec, jobs, SimParameters(), rng())
    engine.run()
    assert engine.recorder.finish[0] == pytest.approx(132.0)


def test_gang_starts_all_pods_together_or_waits() -> None:
    """A 2 × 8-GPU gang waits while one GPU of the two nodes is busy, then starts at once."""
    jobs = make_jobs(2, arrival=[0.0, 1.0], work=[10.0, 5.0], pods=[1, 2], gpus=[1, 8])
    engine = ReplayEngine(uniform(2, 8), jobs, SimParameters(), rng())
    engine.run()
    assert engine.recorder.start.tolist() == [0.0, 10.0]


def test_best_effort_fifo_lets_small_jobs_pass_a_blocked_gang() -> None:
    """Under BestEffortFIFO a later one-GPU job starts while the gang ahead of it waits; under
    StrictFIFO it waits behind the gang."""
    jobs = make_jobs(3, arrival=[0.0, 1.0, 2.0], work=[10.0, 5.0, 1.0], pods=[1, 2, 1], gpus=[1, 8, 1])
    strict = ReplayEngine(uniform(2, 8), jobs, SimParameters(queue="fifo"), rng())
    strict.run()
    loose = ReplayEngine(uniform(2, 8), jobs, SimParameters(queue="best-effort-fifo"), rng())
    loose.run()
    assert strict.recorder.start[2] == 15.0
    assert loose.recorder.start[2] == 2.0


def test_priority_queue_starts_higher_priority_first() -> None:
    """With one GPU busy, a later high-priority job starts before an earlier low-priority one."""
    jobs = make_jobs(3, arrival=[0.0, 1.0, 2.0], work=[10.0, 1.0, 1.0], priority=[0, 0, 5])
    engine = ReplayEngine(uniform(1, 1), jobs, SimParameters(queue="priority"), rng())
    engine.run()
    assert engine.recorder.start.tolist() == [0.0, 11.0, 10.0]


def test_gang_larger_than_the_cluster_is_rejected_with_reason() -> None:
    """Three 8-GPU pods on two 8-GPU nodes can never run: rejected at arrival, not queued."""
    jobs = make_jobs(2, pods=[3, 1], gpus=[8, 1])
    result = run(SimConfig(uniform(2, 8), jobs, SimParameters()))
    assert result.metrics["jobs"]["unschedulable_reasons"] == {
        "the gang needs 3 pods at once; the empty cluster holds at most 2": 1
    }
    assert result.metrics["jobs"]["completed"] == 1


def test_run_result_json_is_byte_identical_for_same_seed() -> None:
    """The same config and seed give byte-identical JSON; another seed changes the random policy's choices."""
    spec = _mixed_cluster()
    jobs = _mixed_workload()
    params = SimParameters(policy="random", seed=11)
    one = run(SimConfig(spec, jobs, params)).to_json()
    two = run(SimConfig(spec, jobs, params)).to_json()
    other = run(SimConfig(spec, jobs, params.model_copy(update={"seed": 12}))).to_json()
    assert one == two
    assert one != other


def test_input_errors_end_up_in_the_result() -> None:
    """A desired state that cannot be built gives a result with the error, config and seed."""
    state = desired(pool("inf", "H100-SXM5-80GB", 8, 1, mig={"config": "nope"}))
    result = run(SimConfig(state, make_jobs(1), SimParameters(seed=5)))
    assert not result.ok and "MIG config 'nope'" in (result.error or "")
    assert result.seed == 5 and result.config["policy"] == "k8s-default"


def test_gang_pods_stay_in_the_first_pods_rack() -> None:
    """With racks of two nodes, every pod of a spreading gang lands in its first pod's rack."""
    spec = from_desired_state(desired(pool("t", "A100-SXM4-80GB", 8, 8, topology={"nodesPerRack": 2})))
    jobs = make_jobs(6, arrival=[float(i) for i in range(6)], work=100.0, pods=2, gpus=4)
    checker = InvariantChecker()
    placements: dict[int, list[int]] = {}

    class Racks(InvariantChecker):
        def started(self, engine: ReplayEngine, job: int, done: list[Placement]) -> None:
            placements[job] = [int(spec.rack[p.node]) for p in done]
            checker.started(engine, job, done)

    ReplayEngine(spec, jobs, SimParameters(policy="k8s-default"), rng(5), observer=Racks()).run()
    assert len(placements) == 6
    assert all(len(set(racks)) == 1 for racks in placements.values())


def test_jobs_out_of_arrival_order_are_replayed_in_time_order() -> None:
    """A table whose rows are not sorted by arrival still starts each job at its own arrival."""
    jobs = make_jobs(2, arrival=[5.0, 1.0], work=1.0)
    engine = ReplayEngine(uniform(1, 1), jobs, SimParameters(), rng())
    engine.run()
    assert engine.jobs.arrival.tolist() == [1.0, 5.0]
    assert engine.recorder.start.tolist() == [1.0, 5.0]


def test_time_scale_compresses_arrivals_and_waits_are_measured_from_them() -> None:
    """With time_scale 0.5 a job submitted at 10 arrives at 5; its wait counts from 5."""
    jobs = make_jobs(2, arrival=[0.0, 10.0], work=[8.0, 1.0])
    engine = ReplayEngine(uniform(1, 1), jobs, SimParameters(time_scale=0.5), rng())
    summary = engine.run()
    assert engine.recorder.start.tolist() == [0.0, 8.0]
    assert summary["wait_s"]["mean"] == pytest.approx(1.5)  # (0 + 3) / 2


def test_time_sliced_gpu_memory_oversubscription_fails_the_newcomer() -> None:
    """Three 6 GiB jobs on one time-sliced 16 GB T4: two share it, the third fails at start; with
    the failure model off all three run."""
    spec = _time_sliced_t4(4)
    capacity = int(spec.device_memory_mib[0, 0])
    jobs = make_jobs(3, work=10.0, gpu_memory_mib=capacity // 2 - 1000)
    engine = ReplayEngine(spec, jobs, SimParameters(), rng())
    summary = engine.run()
    assert summary["jobs"]["completed"] == 2 and summary["jobs"]["failed"] == 1
    assert list(summary["jobs"]["failed_reasons"]) == [
        f"time-sliced GPU memory oversubscribed ({capacity} MiB shared by its tenants)"
    ]
    assert engine.recorder.state.tolist() == [int(JobState.COMPLETED)] * 2 + [int(JobState.FAILED)]
    tolerant = SimParameters(
        sharing=SimParameters().sharing.model_copy(update={"oom_on_oversubscription": False})
    )
    assert ReplayEngine(spec, jobs, tolerant, rng()).run()["jobs"]["completed"] == 3


def test_mps_client_fails_above_its_memory_cap() -> None:
    """An MPS client is capped at memory ÷ replicas: a 50 GiB working set fails on A100-80GB shared by two."""
    mps = {"version": "v1", "sharing": {"mps": {"resources": [{"name": "nvidia.com/gpu", "replicas": 2}]}}}
    spec = from_desired_state(
        desired(pool("p", "A100-SXM4-80GB", 1, 1, devicePlugin={"config": "mps"}), device_plugin={"mps": mps})
    )
    jobs = make_jobs(2, work=10.0, gpu_memory_mib=[50 * 1024, 30 * 1024])
    summary = ReplayEngine(spec, jobs, SimParameters(), rng()).run()
    assert (summary["jobs"]["completed"], summary["jobs"]["failed"]) == (1, 1)


def test_mig_power_throttle_while_every_instance_is_busy() -> None:
    """On an all-balanced H100 (four instances), jobs run 5 % slower while all four instances are
    busy and speed back up when one leaves."""
    spec = from_desired_state(
        desired(pool("inf", "H100-SXM5-80GB", 1, 1, mig={"config": "all-balanced", "strategy": "mixed"}))
    )
    resources = ["nvidia.com/mig-1g.10gb", "nvidia.com/mig-2g.20gb", "nvidia.com/mig-3g.40gb"]
    jobs = make_jobs(4, work=[50.0, 100.0, 100.0, 100.0], resource=[0, 0, 1, 2], resources=resources)
    engine = ReplayEngine(spec, jobs, SimParameters(), rng())
    engine.run()
    first = 50 / 0.95
    assert engine.recorder.finish[0] == pytest.approx(first)
    assert engine.recorder.finish[1:].tolist() == pytest.approx([first + 50.0] * 3)
    unthrottled = SimParameters(
        sharing=SimParameters().sharing.model_copy(update={"mig_power_throttle": 0.0})
    )
    calm = ReplayEngine(spec, jobs, unthrottled, rng())
    calm.run()
    assert calm.recorder.finish.tolist() == [50.0, 100.0, 100.0, 100.0]

"""Trace loaders: real shared traces in both openb formats, ITP gangs, the gpuctl CSV format,
synthetic generation, and file:line errors for bad rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schemas.kinds import WorkloadProfile
from simulator.traces import (
    TraceError,
    generate_from_profile,
    load_gpuctl_csv,
    load_itp,
    load_openb_nodes,
    load_openb_pods,
)


def test_openb_default_pod_list_matches_published_totals(traces: Path) -> None:
    """The default pod list has 8,152 pods asking for 6,086.8 GPUs, 1,088 of them CPU-only."""
    jobs = load_openb_pods(traces / "openb" / "openb_pod_list_default.csv")
    assert len(jobs) == 8152
    assert jobs.gpu_request().sum() == pytest.approx(6086.8)
    assert int((jobs.gpu_request() == 0).sum()) == 1088
    assert int((jobs.milli > 0).sum()) == 3078
    assert set(jobs.kinds) == {"LS", "BE", "Burstable", "Guaranteed"}


def test_openb_short_format_loads_without_times(traces: Path) -> None:
    """The five-column multigpu list loads, with arrival and work 0."""
    jobs = load_openb_pods(traces / "openb" / "openb_pod_list_multigpu20.csv")
    assert len(jobs) > 8000
    assert float(jobs.arrival.max()) == 0.0 and float(jobs.work.max()) == 0.0
    assert int(jobs.gpus.max()) == 8


def test_openb_node_lists_hold_6212_gpus(traces: Path) -> None:
    """Both node lists hold the same 6,212 GPUs; the full one adds CPU-only nodes."""
    gpu_nodes = load_openb_nodes(traces / "openb" / "openb_node_list_gpu_node.csv")
    all_nodes = load_openb_nodes(traces / "openb" / "openb_node_list_all_node.csv")
    assert (len(gpu_nodes), sum(gpu_nodes.gpus)) == (1213, 6212)
    assert (len(all_nodes), sum(all_nodes.gpus)) == (1523, 6212)


def test_itp_jobs_above_a_node_become_gangs(traces: Path) -> None:
    """A 64-GPU ITP job is a gang of 8 pods × 8 GPUs; jobs stay sorted by submission."""
    jobs = load_itp(traces / "elasticflow-itp" / "cluster01.csv")
    assert len(jobs) == 1595
    assert bool(np.all(np.diff(jobs.arrival) >= 0))
    big = jobs.pods * jobs.gpus == 64
    assert bool(np.all(jobs.pods[big] == 8)) and bool(np.all(jobs.gpus[big] == 8))


def test_itp_bad_row_reports_file_and_line(tmp_path: Path) -> None:
    """A non-numeric duration is reported with its file and line."""
    path = tmp_path / "itp.csv"
    path.write_text("job_id,submission_time,duration,num_gpu\na,0,10,1\nb,5,ten,1\n")
    with pytest.raises(TraceError) as err:
        load_itp(path)
    assert str(err.value).startswith(f"{path}:3: duration 'ten' is not a number")


def test_itp_gang_that_cannot_split_evenly_is_rejected(tmp_path: Path) -> None:
    """12 GPUs on 8-GPU nodes cannot split into equal pods: an error names the line."""
    path = tmp_path / "itp.csv"
    path.write_text("job_id,submission_time,duration,num_gpu\na,0,10,12\n")
    with pytest.raises(TraceError, match=r":2: num_gpu 12 .* multiple"):
        load_itp(path)


def test_openb_sharing_pod_with_several_gpus_is_rejected(tmp_path: Path) -> None:
    """gpu_milli below 1000 with num_gpu 2 is an error at its line."""
    path = tmp_path / "pods.csv"
    path.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,100,1,500\np1,1000,100,2,500\n")
    with pytest.raises(TraceError, match=r"pods.csv:3: a sharing pod"):
        load_openb_pods(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    """A header without a required column says which one and what is expected."""
    path = tmp_path / "nodes.csv"
    path.write_text("sn,cpu_milli,memory_mib,gpu\nn0,1000,100,1\n")
    with pytest.raises(TraceError, match=r"nodes.csv:1: header lacks model"):
        load_openb_nodes(path)


def test_gpuctl_csv_reads_every_column(tmp_path: Path) -> None:
    """The gpuctl CSV carries gangs, MIG resources, fractions, teams and model constraints."""
    path = tmp_path / "jobs.csv"
    path.write_text(
        "job_id,arrival,duration,pods,gpus,resource,gpu_milli,team,priority,kind,gpu_models,gpu_memory_mib\n"
        "b,20,60,2,4,,,vision,10,training,A100-SXM4-80GB|H100-SXM5-80GB,\n"
        "a,10,30,1,1,nvidia.com/mig-3g.40gb,,llm,5,inference,,20000\n"
        "c,30,5,1,1,,250,research,0,notebook,,\n"
    )
    jobs = load_gpuctl_csv(path)
    assert jobs.names == ["a", "b", "c"]
    assert jobs.resources[jobs.resource[0]] == "nvidia.com/mig-3g.40gb"
    assert (int(jobs.pods[1]), int(jobs.gpus[1]), int(jobs.model_mask[1])) == (2, 4, 0b11)
    assert int(jobs.milli[2]) == 250
    assert jobs.gpu_memory_mib.tolist() == [20000, 0, 0]
    assert [jobs.teams[t] for t in jobs.team] == ["llm", "vision", "research"]
    assert [jobs.classes[c] for c in jobs.job_class] == ["inference", "training", "notebook"]
    assert [jobs.queues[q] for q in jobs.queue] == ["llm", "vision", "research"]


def test_gpuctl_csv_rejects_fraction_of_mig_resource(tmp_path: Path) -> None:
    """gpu_milli only applies to nvidia.com/gpu; the error says so at the line."""
    path = tmp_path / "jobs.csv"
    path.write_text("job_id,arrival,duration,resource,gpu_milli\na,0,1,nvidia.com/mig-1g.10gb,500\n")
    with pytest.raises(TraceError, match=r"jobs.csv:2: gpu_milli needs gpus 1 and resource nvidia.com/gpu"):
        load_gpuctl_csv(path)


def _profile(classes: list[dict[str, object]], horizon: str = "100h") -> WorkloadProfile:
    return WorkloadProfile.model_validate(
        {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "WorkloadProfile",
            "metadata": {"name": "p"},
            "spec": {"horizon": horizon, "classes": classes},
        }
    )


POISSON_CLASS = {
    "name": "train",
    "team": "a",
    "kind": "training",
    "arrival": {"process": "poisson", "ratePerHour": 60},
    "request": {"resource": "nvidia.com/gpu", "count": 2},
    "duration": {"distribution": "lognormal", "median": "1h", "p90": "4h"},
}


def test_synthetic_poisson_rate_and_lognormal_quantiles() -> None:
    """60 jobs/h over 100 h gives ≈6,000 jobs; durations have the stated median and p90."""
    jobs = generate_from_profile(_profile([POISSON_CLASS]), np.random.default_rng(1))
    assert 5700 < len(jobs) < 6300
    assert np.median(jobs.work) == pytest.approx(3600, rel=0.05)
    assert np.quantile(jobs.work, 0.9) == pytest.approx(4 * 3600, rel=0.08)
    assert bool(np.all(jobs.gpus == 2))


def test_synthetic_bursts_and_non_gang_pods() -> None:
    """Bursts of 4 every 10 h with 2 non-gang pods each give 2 × 4 × 10 single-pod jobs."""
    burst = {
        **POISSON_CLASS,
        "arrival": {"process": "bursts", "every": "10h", "size": 4},
        "pods": 2,
        "gang": False,
    }
    jobs = generate_from_profile(_profile([burst]), np.random.default_rng(1))
    assert len(jobs) == 80 and bool(np.all(jobs.pods == 1))


def test_synthetic_generation_is_deterministic_per_seed() -> None:
    """The same seed draws the same jobs; another seed draws others."""
    profile = _profile([POISSON_CLASS])
    one = generate_from_profile(profile, np.random.default_rng(7))
    two = generate_from_profile(profile, np.random.default_rng(7))
    three = generate_from_profile(profile, np.random.default_rng(8))
    assert np.array_equal(one.arrival, two.arrival) and np.array_equal(one.work, two.work)
    assert len(one) != len(three) or not np.array_equal(one.arrival, three.arrival)

"""The replay engine against queueing theory: M/M/c (Poisson arrivals, exponential service,
one-GPU jobs on c GPUs) must reproduce the Erlang C mean wait."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import SimParameters
from simulator.cluster import uniform
from simulator.engine.replay import ReplayEngine
from simulator.jobs import JobTable, empty_columns

JOBS = 200_000
WARM_UP = JOBS // 50  # the first jobs meet an empty cluster; leave them out


def erlang_c_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue of an M/M/c system (Erlang C formula)."""
    offered = arrival_rate / service_rate
    rho = offered / servers
    tail = offered**servers / math.factorial(servers) / (1 - rho)
    p_wait = tail / (sum(offered**k / math.factorial(k) for k in range(servers)) + tail)
    return p_wait / (servers * service_rate - arrival_rate)


def poisson_jobs(count: int, arrival_rate: float, service_rate: float, seed: int) -> JobTable:
    generator = np.random.default_rng(seed)
    cols = empty_columns(count)
    cols["arrival"][:] = np.cumsum(generator.exponential(1 / arrival_rate, count))
    cols["work"][:] = generator.exponential(1 / service_rate, count)
    cols["gpus"][:] = 1
    return JobTable.from_columns(cols)


def test_erlang_c_formula_reference_value() -> None:
    """The formula itself: M/M/2 at λ=1, μ=1 has mean wait 1/3."""
    assert erlang_c_mean_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)


@pytest.mark.slow
@pytest.mark.parametrize(("gpus", "load"), [(1, 0.6), (2, 0.5), (4, 0.7)])
def test_mmc_mean_wait_matches_erlang_c(gpus: int, load: float) -> None:
    """Over 200,000 jobs the simulated mean wait is within 5 % of Erlang C (sampling error at
    these sizes is about 1–3 %, measured over several seeds)."""
    arrival_rate, service_rate = load * gpus, 1.0
    jobs = poisson_jobs(JOBS, arrival_rate, service_rate, seed=1)
    engine = ReplayEngine(
        uniform(1, gpus), jobs, SimParameters(max_series_points=10), np.random.default_rng(1)
    )
    engine.run()
    waits = (engine.recorder.start - jobs.arrival)[WARM_UP:]
    expected = erlang_c_mean_wait(gpus, arrival_rate, service_rate)
    assert float(waits.mean()) == pytest.approx(expected, rel=0.05)

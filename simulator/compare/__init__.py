"""Base-vs-head comparison of two desired states under the same workload and seeds (common
random numbers): paired differences with 95 % intervals, per cluster, team and pool,
structural warnings and the rollout's cost. Entry point: `compare(CompareInputs, Backend)`."""

from simulator.compare.comparison import COMPARE_SCHEMA, CompareInputs, Comparison, compare
from simulator.compare.metrics import METRICS, TEAM_METRICS, MetricInfo
from simulator.compare.stats import Difference, paired

__all__ = [
    "COMPARE_SCHEMA",
    "METRICS",
    "TEAM_METRICS",
    "CompareInputs",
    "Comparison",
    "Difference",
    "MetricInfo",
    "compare",
    "paired",
]

"""The placement seam: a policy picks, for one pod, a node among the feasible ones and the
devices inside it. Policies score nodes; ties are broken uniformly at random with the run's
generator, as kube-scheduler does among equal scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from simulator.cluster.state import ClusterState, IntArray, PodRequest

FloatArray = npt.NDArray[np.float64]
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Placement:
    node: int
    devices: list[int]


class PlacementPolicy(Protocol):
    """Chooses where one pod goes. `candidates` are the feasible nodes (never empty);
    `preferred` (may be empty) are nodes the caller would like, e.g. a gang's rack."""

    name: str

    def place(
        self, state: ClusterState, req: PodRequest, candidates: IntArray, rng: np.random.Generator
    ) -> Placement: ...

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Told after a pod of `req` was allocated on (+1) or released from (−1) `node`."""


def pick_highest(candidates: IntArray, scores: FloatArray, rng: np.random.Generator) -> int:
    """The candidate with the highest score; equal scores are drawn uniformly at random."""
    if candidates.shape[0] == 1:
        return int(candidates[0])
    best = scores.max()
    top = np.flatnonzero(scores >= best - TIE_TOLERANCE)
    if top.shape[0] == 1:
        return int(candidates[top[0]])
    return int(candidates[top[rng.integers(top.shape[0])]])


class ScoringPolicy:
    """A policy defined by a node score (higher is better) and the default device choice."""

    name = "abstract"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        raise NotImplementedError

    def place(
        self, state: ClusterState, req: PodRequest, candidates: IntArray, rng: np.random.Generator
    ) -> Placement:
        node = pick_highest(candidates, self.score(state, req, candidates), rng)
        return Placement(node, state.default_devices(node, req))

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Scoring policies keep no state of their own by default."""

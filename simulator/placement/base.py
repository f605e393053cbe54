"""The placement seam: a policy picks, for one pod, a node among the feasible ones and the
devices inside it. Policies score nodes; ties are broken uniformly at random with the run's
generator, as kube-scheduler does among equal scores."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from simulator.cluster.state import BoolArray, ClusterState, IntArray, PodRequest

FloatArray = npt.NDArray[np.float64]
TIE_TOLERANCE = 1e-9


class TieBreaker:
    """Uniform choices among tied nodes, drawn from the run's generator in blocks (one
    generator call per 4096 choices instead of one per pod)."""

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._block: list[float] = []
        self._next = 0

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if self._next == len(self._block):
            self._block = self.rng.random(self.BLOCK).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return min(int(value * n), n - 1)


@dataclass(frozen=True, slots=True)
class Placement:
    node: int
    devices: list[int]


class PlacementPolicy(Protocol):
    """Chooses where one pod goes. `feasible` marks the nodes where it fits (at least one)."""

    name: str

    def place(
        self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker
    ) -> Placement: ...

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Told after a pod of `req` was allocated on (+1) or released from (−1) `node`."""


def pick_best(scores: FloatArray, feasible: BoolArray, ties: TieBreaker) -> int:
    """The feasible node with the highest score (`scores` covers all nodes); ties at random."""
    masked = np.where(feasible, scores, -np.inf)
    top = (masked >= masked.max() - TIE_TOLERANCE).nonzero()[0]
    if top.shape[0] == 1:
        return int(top[0])
    return int(top[ties.below(top.shape[0])])


def pick_highest(candidates: IntArray, scores: FloatArray, ties: TieBreaker) -> int:
    """The candidate with the highest score; equal scores are drawn uniformly at random."""
    if candidates.shape[0] == 1:
        return int(candidates[0])
    best = scores.max()
    top = np.flatnonzero(scores >= best - TIE_TOLERANCE)
    if top.shape[0] == 1:
        return int(candidates[top[0]])
    return int(candidates[top[ties.below(top.shape[0])]])


class ScoringPolicy(ABC):
    """A policy defined by a score of every node (higher is better; only feasible nodes
    count) and the device plugin's default device choice."""

    name = "abstract"

    @abstractmethod
    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        """Higher is better; entries of infeasible nodes are ignored."""

    def place(self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker) -> Placement:
        node = pick_best(self.score(state, req), feasible, ties)
        return Placement(node, state.default_devices(node, req))

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:  # noqa: B027
        """Scoring policies keep no state of their own by default."""

"""The placement seam: a policy picks, for one pod, a node among the feasible ones and the
devices inside it. Policies score nodes. Ties are broken in one of two ways, both drawn from
the run's generator: uniformly at random per pod (stock kube-scheduler among equal scores), or
by one random node priority order fixed for the whole run (the FGD reference simulator: its
scheduler keeps the lexicographically smallest of the top-scored node names, and the names
carry a prefix from a seeded random permutation)."""

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
    generator call per 4096 choices instead of one per pod), and the run's fixed node
    priority order (drawn from the same generator the first time a policy asks for it)."""

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._block: list[float] = []
        self._next = 0
        self._rank: IntArray | None = None

    def rank(self, nodes: int) -> IntArray:
        """Each node's place in the run's priority order (0 first): a random permutation,
        drawn once per run."""
        if self._rank is None or self._rank.shape[0] != nodes:
            self._rank = self.rng.permutation(nodes).astype(np.int64)
        return self._rank

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


def pick_first_best(scores: IntArray, feasible: BoolArray, ties: TieBreaker) -> int:
    """The feasible node with the highest integer score (`scores` covers all nodes); among
    equal scores the first in the run's fixed node order."""
    n = scores.shape[0]
    rank = ties.rank(n)
    key = np.where(feasible, scores * n + (n - 1 - rank), np.iinfo(np.int64).min)
    return int(np.argmax(key))


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

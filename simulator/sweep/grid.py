"""The settings a sweep varies and their combinations.

`--vary KEY=V1,V2,…` with KEY one of:

- `policy`, `queue`: the placement policy and queue discipline (`SimParameters`);
- `pool.<POOL>.<field>`: a field of the pool's `spec`, in the repository's spelling, e.g.
  `pool.h100-inference.mig.config`, `pool.h100-inference.mig.strategy`,
  `pool.a100-training.nodes`, `pool.t4-notebooks.devicePlugin.config`. The changed pool is
  validated like a repository document, so a wrong value is a clear error.

Combinations are the Cartesian product, in the order the keys and values were given.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from schemas.desired import DesiredState
from schemas.kinds import GPUNodePool
from schemas.validation_text import describe_all
from simulator.config import SimParameters
from simulator.errors import SimulatorError
from simulator.placement import POLICY_NAMES

PARAMETER_KEYS = ("policy", "queue")
QUEUES = ("fifo", "priority", "best-effort-fifo")


class SweepError(ValueError, SimulatorError):
    """A `--vary` that cannot be applied (terminal: fix the command line)."""


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[str, ...]


def parse_vary(text: str) -> Axis:
    """`KEY=V1,V2` as an axis."""
    key, sep, values = text.partition("=")
    items = tuple(v.strip() for v in values.split(",") if v.strip())
    if not sep or not key.strip() or not items:
        raise SweepError(f"--vary {text!r}: expected KEY=VALUE[,VALUE…], like policy=fgd,best-fit")
    key = key.strip()
    if key not in PARAMETER_KEYS and not (key.startswith("pool.") and key.count(".") >= 2):
        raise SweepError(
            f"--vary {text!r}: KEY is policy, queue or pool.<POOL>.<field> (like pool.p.mig.config)"
        )
    if key == "policy":
        unknown = [v for v in items if v not in POLICY_NAMES]
        if unknown:
            raise SweepError(
                f"--vary {text!r}: unknown policy {unknown[0]!r}; choose from {', '.join(POLICY_NAMES)}"
            )
    if key == "queue" and any(v not in QUEUES for v in items):
        raise SweepError(f"--vary {text!r}: queue is one of {', '.join(QUEUES)}")
    return Axis(key, items)


def combinations(axes: list[Axis]) -> list[dict[str, str]]:
    """Every combination of the axes' values (one empty combination when nothing varies)."""
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise SweepError("each --vary KEY may be given once")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(a.values for a in axes))]


def _set(tree: dict[str, Any], path: list[str], value: str, where: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise SweepError(f"--vary {where}: {part} is not a mapping")
        node = child
    node[path[-1]] = value


def _pool_with(pool: GPUNodePool, path: list[str], value: str, key: str) -> GPUNodePool:
    data = pool.model_dump(by_alias=True, exclude_none=True)
    _set(data["spec"], path, value, key)
    try:
        return GPUNodePool.model_validate(data)
    except ValidationError as err:
        problems = describe_all(err.errors(include_url=False))
        raise SweepError(f"--vary {key}={value}: {problems}") from err


def apply(
    state: DesiredState, params: SimParameters, combo: dict[str, str]
) -> tuple[DesiredState, SimParameters]:
    """`state` and `params` with the combination's values set (the inputs are not modified)."""
    updates = {k: v for k, v in combo.items() if k in PARAMETER_KEYS}
    params = params.model_copy(update=updates) if updates else params
    pools = list(state.pools)
    for key, value in combo.items():
        if key in PARAMETER_KEYS:
            continue
        _, name, *path = key.split(".")
        names = [p.metadata.name for p in pools]
        if name not in names:
            raise SweepError(
                f"--vary {key}: no GPUNodePool {name!r} (the repository has: {', '.join(names)})"
            )
        index = names.index(name)
        pools[index] = _pool_with(pools[index], path, value, key)
    return replace(state, pools=pools), params

"""The apply order for planning, read from the project's one stage table
(`reconciler.render.order`): stage names in apply order, and a total sort key. Pruning walks
the same order backwards."""

from __future__ import annotations

from reconciler.render.order import STAGE_NAMES
from reconciler.render.order import stage_of as _rank
from schemas.refs import ObjectRef

CRDS = "crds"
NODE_POOLS = "node-pools"


def stage_name(ref: ObjectRef) -> str:
    """The stage an object of this identity is applied in (by kind)."""
    return STAGE_NAMES[_rank(ref)[0]]


def sort_key(stage: str, ref: ObjectRef) -> tuple[int, int, ObjectRef]:
    """Total apply order: stage, rank of the kind inside the stage, identity."""
    return (STAGE_NAMES.index(stage), _rank(ref)[1], ref)

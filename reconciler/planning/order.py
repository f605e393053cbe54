"""The apply order under its former name: the table and its helpers live in
`reconciler.render.order`, the project's one apply-order table."""

from reconciler.render.order import CRDS, NODE_POOLS, sort_key, stage_name

__all__ = ["CRDS", "NODE_POOLS", "sort_key", "stage_name"]

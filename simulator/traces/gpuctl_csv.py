"""gpuctl's own job CSV format (documented in docs/simulate-result.md, "Trace formats").

Required columns: `job_id,arrival,duration` (seconds). Optional columns, with defaults:
`pods` (1), `gpus` per pod (1; 0 for CPU-only), `resource` (`nvidia.com/gpu`, or a MIG
resource such as `nvidia.com/mig-3g.40gb`), `gpu_milli` (empty; 1..999 asks for that share of
one GPU instead of whole devices), `cpu_milli` (0), `memory_mib` (0), `team` (`default`),
`priority` (0), `kind` (`job`), `class` (the kind), `queue` (the team), `gpu_models` (allowed
models joined by `|`; empty = any), `gpu_memory_mib` (working set per device; empty = unknown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.jobs import COLUMNS, FLOAT_COLUMNS, GPU_RESOURCE, JobTable, empty_columns
from simulator.traces.errors import TraceError, parse_float, parse_int, read_rows

CSV_COLUMNS = ("job_id", "arrival", "duration")


def _intern(values: list[str], value: str) -> int:
    if value not in values:
        values.append(value)
    return values.index(value)


def load_gpuctl_csv(path: str | Path) -> JobTable:
    """Read a gpuctl job CSV into a JobTable sorted by arrival."""
    path = Path(path)
    names: list[str] = []
    resources, teams, queues, kinds = [GPU_RESOURCE], ["default"], ["default"], ["job"]
    classes: list[str] = []
    models: list[str] = []
    rows: list[tuple[float, ...]] = []
    for line, row in read_rows(path, CSV_COLUMNS):
        resource = row.get("resource", "").strip() or GPU_RESOURCE
        if not resource.startswith("nvidia.com/"):
            raise TraceError(path, line, f"resource {resource!r} must be an nvidia.com/ resource")
        gpus = parse_int(path, line, "gpus", row.get("gpus", ""), default=1)
        milli = parse_int(path, line, "gpu_milli", row.get("gpu_milli", ""), default=0)
        if milli >= 1000:
            raise TraceError(path, line, f"gpu_milli {milli} must be 1..999 (use gpus for whole GPUs)")
        if milli and (gpus != 1 or resource != GPU_RESOURCE):
            raise TraceError(path, line, f"gpu_milli needs gpus 1 and resource {GPU_RESOURCE}")
        mask = 0
        for model in filter(None, (m.strip() for m in row.get("gpu_models", "").split("|"))):
            mask |= 1 << _intern(models, model)
        names.append(row["job_id"].strip())
        rows.append(
            (
                parse_float(path, line, "arrival", row["arrival"]),
                parse_float(path, line, "duration", row["duration"]),
                parse_int(path, line, "pods", row.get("pods", ""), low=1, default=1),
                gpus,
                milli,
                _intern(resources, resource),
                parse_int(path, line, "cpu_milli", row.get("cpu_milli", ""), default=0),
                parse_int(path, line, "memory_mib", row.get("memory_mib", ""), default=0),
                parse_int(path, line, "priority", row.get("priority", ""), low=-(2**31), default=0),
                _intern(teams, row.get("team", "").strip() or "default"),
                _intern(queues, row.get("queue", "").strip() or row.get("team", "").strip() or "default"),
                _intern(classes, row.get("class", "").strip() or row.get("kind", "").strip() or "job"),
                _intern(kinds, row.get("kind", "").strip() or "job"),
                mask,
                parse_int(path, line, "gpu_memory_mib", row.get("gpu_memory_mib", ""), default=0),
            )
        )
    if not rows:
        raise TraceError(path, 2, "no jobs in the file")
    if len(models) > 62:
        raise TraceError(path, 2, "at most 62 distinct gpu_models are supported")
    cols = empty_columns(len(rows))
    data = np.array(rows, dtype=np.float64)
    for index, name in enumerate(COLUMNS):  # the row tuples above hold the columns in this order
        cols[name][:] = data[:, index] if name in FLOAT_COLUMNS else data[:, index].astype(np.int64)
    table = JobTable.from_columns(
        cols,
        names=names,
        resources=resources,
        teams=teams,
        queues=queues,
        classes=classes,
        kinds=kinds,
        models=models,
    )
    return table.sorted_by_arrival()

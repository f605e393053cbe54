"""Loaders for Alibaba's openb traces (cluster-trace-gpu-v2023, the FGD paper's data).

Pod lists come in two column formats: the full one
(`name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
deletion_time,scheduled_time`) and the short one of the `multigpu*` lists (first five
columns only). Node lists are `sn,cpu_milli,memory_mib,gpu,model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.jobs import JobTable, empty_columns
from simulator.traces.errors import TraceError, parse_float, parse_int, read_rows

POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
MAX_GPUS_PER_POD = 8


@dataclass
class NodeList:
    """Nodes of a trace's own cluster: name, CPU (millicores), memory (MiB), GPUs, GPU model."""

    names: list[str] = field(default_factory=list)
    cpu_milli: list[int] = field(default_factory=list)
    memory_mib: list[int] = field(default_factory=list)
    gpus: list[int] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def load_openb_nodes(path: str | Path) -> NodeList:
    """Read an openb node list; a node with GPUs must name its model."""
    path = Path(path)
    nodes = NodeList()
    for line, row in read_rows(path, NODE_COLUMNS):
        gpus = parse_int(path, line, "gpu", row["gpu"])
        model = row["model"].strip()
        if gpus and not model:
            raise TraceError(path, line, f"node {row['sn']!r} has {gpus} GPUs but no model")
        nodes.names.append(row["sn"].strip())
        nodes.cpu_milli.append(parse_int(path, line, "cpu_milli", row["cpu_milli"]))
        nodes.memory_mib.append(parse_int(path, line, "memory_mib", row["memory_mib"]))
        nodes.gpus.append(gpus)
        nodes.models.append(model)
    if not nodes.names:
        raise TraceError(path, 2, "no nodes in the file")
    return nodes


def load_openb_pods(path: str | Path) -> JobTable:
    """Read an openb pod list (either format) as one single-pod job per row.

    Whole-GPU pods (`gpu_milli` 1000) ask for `num_gpu` devices; sharing pods (`gpu_milli`
    below 1000) ask for that share of one GPU; `num_gpu` 0 is CPU-only. Arrival is
    `creation_time` and work `deletion_time − creation_time` when the columns exist (0 else).
    """
    path = Path(path)
    names: list[str] = []
    rows: list[tuple[float, float, int, int, int, int, int, int]] = []
    models: list[str] = []
    kinds: list[str] = []
    for line, row in read_rows(path, POD_COLUMNS):
        num_gpu = parse_int(path, line, "num_gpu", row["num_gpu"])
        milli = parse_int(path, line, "gpu_milli", row["gpu_milli"], default=0)
        if num_gpu > MAX_GPUS_PER_POD:
            raise TraceError(path, line, f"num_gpu {num_gpu} is more than {MAX_GPUS_PER_POD}")
        if num_gpu and not 0 < milli <= 1000:
            raise TraceError(path, line, f"gpu_milli {milli} must be 1..1000 when num_gpu is {num_gpu}")
        if milli < 1000 and num_gpu > 1:
            raise TraceError(path, line, f"a sharing pod (gpu_milli {milli}) must have num_gpu 1")
        if not num_gpu:
            milli = 0
        mask = 0
        for model in filter(None, (m.strip() for m in row.get("gpu_spec", "").split("|"))):
            if model not in models:
                models.append(model)
            mask |= 1 << models.index(model)
        kind = row.get("qos", "").strip() or "pod"
        if kind not in kinds:
            kinds.append(kind)
        created = parse_float(path, line, "creation_time", row.get("creation_time", ""), default=0.0)
        deleted = parse_float(path, line, "deletion_time", row.get("deletion_time", ""), default=created)
        if deleted < created:
            raise TraceError(path, line, f"deletion_time {deleted:g} is before creation_time {created:g}")
        names.append(row["name"].strip())
        rows.append(
            (
                created,
                deleted - created,
                num_gpu if milli >= 1000 else min(num_gpu, 1),
                milli if 0 < milli < 1000 else 0,
                parse_int(path, line, "cpu_milli", row["cpu_milli"]),
                parse_int(path, line, "memory_mib", row["memory_mib"]),
                kinds.index(kind),
                mask,
            )
        )
    if not rows:
        raise TraceError(path, 2, "no pods in the file")
    if len(models) > 62:
        raise TraceError(path, 2, f"{len(models)} distinct gpu_spec models; at most 62 are supported")
    cols = empty_columns(len(rows))
    data = np.array(rows, dtype=np.float64)
    cols["arrival"][:] = data[:, 0]
    cols["job_class"][:] = data[:, 6].astype(np.int64)  # the QoS class
    cols["work"][:] = data[:, 1]
    for index, name in enumerate(("gpus", "milli", "cpu_milli", "memory_mib", "kind", "model_mask"), start=2):
        cols[name][:] = data[:, index].astype(np.int64)
    return JobTable.from_columns(cols, names=names, kinds=kinds, classes=kinds, models=models)

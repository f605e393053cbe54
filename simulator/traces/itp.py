"""Loader for Microsoft ITP job traces as published by ElasticFlow
(`job_id,submission_time,duration,num_gpu`, seconds, sorted by submission).

A job larger than one node is a gang of `num_gpu / gpus_per_node` pods with `gpus_per_node`
GPUs each (the traces only hold 1, 2, 4, 8 and multiples of 8); smaller jobs are one pod.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.jobs import JobTable, empty_columns
from simulator.traces.errors import TraceError, parse_float, parse_int, read_rows

ITP_COLUMNS = ("job_id", "submission_time", "duration", "num_gpu")


def load_itp(path: str | Path, gpus_per_node: int = 8) -> JobTable:
    """Read an ITP trace; every job asks for whole `nvidia.com/gpu` devices."""
    path = Path(path)
    names: list[str] = []
    rows: list[tuple[float, float, int, int]] = []
    for line, row in read_rows(path, ITP_COLUMNS):
        num_gpu = parse_int(path, line, "num_gpu", row["num_gpu"], low=1)
        if num_gpu <= gpus_per_node:
            pods, per_pod = 1, num_gpu
        elif num_gpu % gpus_per_node == 0:
            pods, per_pod = num_gpu // gpus_per_node, gpus_per_node
        else:
            raise TraceError(
                path,
                line,
                f"num_gpu {num_gpu} is above {gpus_per_node} per node and not a multiple of it; "
                "a gang must split into equal pods",
            )
        names.append(row["job_id"].strip())
        rows.append(
            (
                parse_float(path, line, "submission_time", row["submission_time"]),
                parse_float(path, line, "duration", row["duration"]),
                pods,
                per_pod,
            )
        )
    if not rows:
        raise TraceError(path, 2, "no jobs in the file")
    cols = empty_columns(len(rows))
    data = np.array(rows, dtype=np.float64)
    cols["arrival"][:] = data[:, 0]
    cols["work"][:] = data[:, 1]
    cols["pods"][:] = data[:, 2].astype(np.int64)
    cols["gpus"][:] = data[:, 3].astype(np.int64)
    return JobTable.from_columns(cols, names=names, kinds=["training"], classes=["itp"]).sorted_by_arrival()

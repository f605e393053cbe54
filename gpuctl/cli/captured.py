"""The capture store seen from the CLI: where it is, the `captured:<age>` trace spec of
`gpuctl simulate`, and writing its jobs as a gpuctl CSV trace (for `gpuctl trace export`, and
as a temporary file the simulator's CSV loader reads)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from reconciler.capture.export import ExportSummary, write_trace
from reconciler.capture.session import CAPTURE_DB_NAME
from reconciler.capture.store import CaptureStore
from schemas.durations import parse_duration
from schemas.errors import Terminal

DB_ENV_VAR = "GPUCTL_CAPTURE_DB"
CAPTURED_PREFIX = "captured:"


class CaptureInputError(ValueError, Terminal):
    """A bad `--since`/`captured:` value or a missing store (terminal: fix the command)."""


def capture_db(option: Path | None) -> Path:
    """The store: the option, else $GPUCTL_CAPTURE_DB, else the daemon's default file name."""
    return option or Path(os.environ.get(DB_ENV_VAR) or CAPTURE_DB_NAME)


def is_captured(trace: Path | str | None) -> bool:
    return trace is not None and str(trace).startswith(CAPTURED_PREFIX)


def window_seconds(text: str) -> float:
    """Seconds in a window such as `7d` or `36h`."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise CaptureInputError(f"{text!r} is not a duration; write e.g. 7d, 36h or 90m") from exc
    if seconds <= 0:
        raise CaptureInputError(f"{text!r}: the window must be positive, e.g. 7d")
    return seconds


def export_jobs(db: Path, since_s: float, out: TextIO, now: float | None = None) -> ExportSummary:
    """Write the jobs submitted in the last `since_s` seconds of `db` to `out` as CSV."""
    if not db.is_file():
        raise CaptureInputError(
            f"{db}: no capture store (run `gpuctl run --capture`, or give --capture-db / ${DB_ENV_VAR})"
        )
    store = CaptureStore(db)
    try:
        jobs = store.jobs(since=(now if now is not None else time.time()) - since_s)
    finally:
        store.close()
    return write_trace(jobs, out)


@contextmanager
def captured_trace(spec: str, db: Path) -> Iterator[tuple[Path, ExportSummary]]:
    """`captured:7d` as a temporary gpuctl CSV file (removed on exit) and what went into it."""
    window = window_seconds(spec.removeprefix(CAPTURED_PREFIX) or "7d")
    with tempfile.TemporaryDirectory(prefix="gpuctl-captured-") as tmp:
        path = Path(tmp) / "captured.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            summary = export_jobs(db, window, out)
        if not summary.exported:
            raise CaptureInputError(f"{db}: no job ran in the last {spec.removeprefix(CAPTURED_PREFIX)}")
        yield path, summary

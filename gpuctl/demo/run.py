"""Runs the tour: the steps in order inside one ExitStack, so the daemon, the sandbox and the
work directory are closed whatever happens. Returns the exit code: 0 when every step held,
1 when one failed (named, with the daemon's last log lines), 130 on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

from gpuctl.demo import steps
from gpuctl.demo.errors import DemoFailure
from gpuctl.demo.narration import Narrator
from gpuctl.demo.tour import DemoOptions, Tour

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130

Step = tuple[str, Callable[[Tour], None]]


def tour_steps(options: DemoOptions) -> list[Step]:
    where = "the embedded sandbox" if options.kubeconfig is None else "the given API server"
    chosen: list[Step] = [
        ("A Git repository of desired GPU state", steps.create_repository),
        (f"A GPU cluster ({where}) with inference jobs running", steps.start_cluster),
        ("The gpuctl daemon and its first apply", steps.start_daemon),
        ("A MIG layout change, rolled out node by node", steps.roll_out_mig_change),
        ("A change behind gpuctl's back, corrected", steps.correct_drift),
    ]
    if options.simulate:
        chosen.append(("The pre-merge capacity simulation of a proposed change", steps.simulate_proposal))
    chosen.append(("The audit log, verified", steps.show_audit_log))
    return chosen


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (main thread only), so cleanup runs as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(options: DemoOptions, narrator: Narrator) -> int:
    """The whole tour; the exit code."""
    started = time.monotonic()
    current = "setting up"
    try:
        with _sigterm_interrupts(), ExitStack() as stack:
            tour = Tour(options, narrator, stack)
            try:
                for title, step in tour_steps(options):
                    current = title
                    narrator.step(title)
                    step(tour)
            except Exception as exc:
                _report_failure(narrator, current, exc, tour.log_tail())
                return EXIT_FAILED
            narrator.step("Cleaning up")
            current = "cleaning up"
    except KeyboardInterrupt:
        narrator.fail(f"interrupted during: {current}; everything started was stopped")
        return EXIT_INTERRUPTED
    except Exception as exc:  # creating the work directory, or cleaning up
        _report_failure(narrator, current, exc, [])
        return EXIT_FAILED
    if options.keep is not None:
        narrator.say(f"kept the repository, audit database and daemon log in {options.keep}")
    narrator.ok(f"demo finished in {time.monotonic() - started:.1f} s; daemon, sandbox and "
                "temporary files are gone")
    return EXIT_OK


def _report_failure(narrator: Narrator, step: str, exc: Exception, log_tail: list[str]) -> None:
    what = str(exc) if isinstance(exc, DemoFailure) else f"{type(exc).__name__}: {exc}"
    narrator.fail(f"{step}: {what}")
    for line in log_tail:
        narrator.say(f"  daemon log: {line}")

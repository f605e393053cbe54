"""Leader election on a coordination.k8s.io Lease, so that of two replicas only one writes.

The algorithm is client-go's: the holder renews `renewTime` every `retry_period`; a
candidate takes the Lease over once it has seen no change to it for `lease_duration`, or
at once when the holder released it (empty holder). Writes use the resourceVersion, so two
candidates never both win. Safety does not depend on the renew thread being timely:
`is_leader()` turns False by itself `renew_deadline` after the start of the last
successful renewal, and `renew_deadline < lease_duration`, so the old leader has stopped
writing before any candidate may take over. `release()` hands the Lease over on shutdown.

A follower knows who holds the Lease and since when (`holder()`, shown on /status) and says so
in a log line at most once a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from reconciler.daemon.leases import LeaseConflict, LeaseRecord, LeaseStore, LeaseUnavailable

log = structlog.get_logger("gpuctl.daemon.leader")

FOLLOWER_LOG_INTERVAL_S = 60.0


@dataclass(frozen=True)
class Holder:
    """Who held the Lease when this replica last read it, and since when (its acquireTime)."""

    identity: str
    since: datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {"identity": self.identity, "since": self.since.isoformat() if self.since else None}


@dataclass(frozen=True)
class ElectionTiming:
    """client-go's defaults are 15 s / 10 s / 2 s."""

    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period_s < self.renew_deadline_s < self.lease_duration_s:
            raise ValueError(
                "leader election needs retry period < renew deadline < lease duration, got "
                f"{self.retry_period_s}s / {self.renew_deadline_s}s / {self.lease_duration_s}s"
            )


class LeaderElector:
    """Campaigns for the Lease in a background thread; `is_leader()` is safe to poll."""

    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        timing: ElectionTiming = ElectionTiming(),
        *,
        on_change: Callable[[bool], None] = lambda leading: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.identity = identity
        self._timing = timing
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._valid_until = 0.0  # monotonic time until which this replica may write
        self._leading = False
        self._reported = False
        self._observed: tuple[str, float] | None = None  # (resourceVersion, first seen at)
        self.lease_reachable = True  # False while the last round could not read or write the Lease
        self._holder: Holder | None = None
        self._follower_logged_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leader(self) -> bool:
        with self._lock:
            return self._leading and self._clock() < self._valid_until

    def holder(self) -> Holder | None:
        """The Lease's holder as last read (None before the first read or when nobody holds it)."""
        with self._lock:
            return self._holder

    def running(self) -> bool:
        """Whether the campaign thread is alive (for /readyz)."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._campaign, name="gpuctl-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop campaigning and give the Lease up if held."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release()

    def _campaign(self) -> None:
        while not self._stop.is_set():
            try:
                self.try_acquire_or_renew()
            except Exception:  # a bug in one round must not end the campaign for good
                log.exception("lease round failed", identity=self.identity)
                self.lease_reachable = False
                self._set_leading(False, False, self._clock())
            self._stop.wait(self._timing.retry_period_s)

    def try_acquire_or_renew(self) -> bool:
        """One round of the election; True when this replica holds the Lease afterwards."""
        started = self._clock()
        self.lease_reachable = True
        try:
            won, certain = self._attempt(started), True
        except LeaseUnavailable as exc:
            self.lease_reachable = False
            # We cannot tell; keep writing only until the renew deadline runs out.
            log.warning("lease unavailable", error=str(exc), identity=self.identity)
            won, certain = False, False
        except LeaseConflict:
            won, certain = False, True  # someone else wrote the Lease first
        self._set_leading(won, certain, started)
        return won

    def _attempt(self, started: float) -> bool:
        now = datetime.now(UTC)
        duration = max(1, round(self._timing.lease_duration_s))
        current = self._store.get()
        if current is None:
            self._store.create(LeaseRecord(self.identity, duration, now, now, 0))
            self._saw_holder(Holder(self.identity, now), started)
            return True
        if current.holder == self.identity:
            self._store.update(replace(current, duration_s=duration, renew_time=now))
            self._saw_holder(Holder(self.identity, current.acquire_time), started)
            return True
        if current.holder and not self._expired(current, started):
            self._saw_holder(Holder(current.holder, current.acquire_time), started)
            return False
        taken = LeaseRecord(self.identity, duration, now, now, current.transitions + 1, current.version)
        self._store.update(taken)
        self._saw_holder(Holder(self.identity, now), started)
        log.info("lease acquired", identity=self.identity, previous=current.holder or None)
        return True

    def _saw_holder(self, holder: Holder, now: float) -> None:
        """Remember the holder; as a follower, log it when it changed or a minute has passed."""
        with self._lock:
            changed = self._holder is None or self._holder.identity != holder.identity
            self._holder = holder
        if holder.identity == self.identity:
            self._follower_logged_at = None
            return
        last = self._follower_logged_at
        if changed or last is None or now - last >= FOLLOWER_LOG_INTERVAL_S:
            self._follower_logged_at = now
            log.info(
                "following the Lease holder", identity=self.identity, holder=holder.identity,
                since=holder.since.isoformat() if holder.since else None,
            )

    def _expired(self, current: LeaseRecord, now: float) -> bool:
        """Whether the holder has not renewed for a full lease duration, by our own clock."""
        if self._observed is None or self._observed[0] != current.version:
            self._observed = (current.version, now)
            return False
        return now - self._observed[1] >= max(current.duration_s, self._timing.lease_duration_s)

    def _set_leading(self, won: bool, certain: bool, started: float) -> None:
        with self._lock:
            if won:
                self._leading = True
                self._valid_until = started + self._timing.renew_deadline_s
            elif certain or self._clock() >= self._valid_until:
                self._leading = False
        self._report()

    def _report(self) -> None:
        """Tell `on_change` when leadership changed since the last report (also by expiry)."""
        leading = self.is_leader()
        if leading != self._reported:
            self._reported = leading
            log.info("leadership changed", identity=self.identity, leader=leading)
            self._on_change(leading)

    def release(self) -> None:
        """Give the Lease up at once (empty holder), so a follower takes over without waiting."""
        with self._lock:
            was_leading = self._leading
            self._leading = False
            self._valid_until = 0.0
        if not was_leading:
            self._report()
            return
        try:
            current = self._store.get()
            if current is not None and current.holder == self.identity:
                self._store.update(replace(current, holder=None, duration_s=1))
                log.info("lease released", identity=self.identity)
        except (LeaseConflict, LeaseUnavailable) as exc:
            log.warning("lease release failed", identity=self.identity, error=str(exc))
        self._report()

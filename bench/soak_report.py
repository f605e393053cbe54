"""The soak's figures and invariants, computed from sources independent of gpuctl's counters:
the fault proxy's log of mutating requests (what reached the cluster) against the audit log
(what gpuctl recorded), the commits made against the reconciles recorded, and the daemon
process's RSS and open file descriptors read from `/proc`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.audit.query import AuditReader
from reconciler.audit.schema import CHANGE, RECONCILE_FINISHED
from sandbox.proxy_requests import LoggedRequest

# Bookkeeping writes that are not changes of the desired state, so not audited: Events and the
# leader election's Lease (resource names in the path).
UNAUDITED = frozenset({"events", "leases"})
# The audit actions that stand for a write to the cluster (one `change` entry each).
WRITE_ACTIONS = frozenset(
    {"created", "configured", "deleted", "cordoned", "evicted", "relabelled", "uncordoned"}
)
RSS_GROWTH_LIMIT = 0.10


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


@dataclass
class Commit:
    """One commit of the soak: its sha, what it changed, when, and the API path it must write."""

    sha: str
    kind: str  # configmap, quota, mig
    at: float
    path: str  # the object path the change is written to (a prefix for a MIG change: any pool node)


@dataclass
class Footprint:
    """RSS (kB) and open file descriptors of the daemon at start, after warm-up and at the end."""

    samples: dict[str, tuple[int, int]] = field(default_factory=dict)

    def take(self, label: str, pid: int) -> None:
        self.samples[label] = (rss_kb(pid), open_fds(pid))


def cluster_writes(requests: list[LoggedRequest], user_agent: str) -> list[LoggedRequest]:
    """The desired-state writes the server accepted from `user_agent` (Events, Leases out)."""
    return [r for r in requests if r.user_agent.startswith(user_agent) and r.written
            and not UNAUDITED & set(r.path.split("/"))]


def _object_key(path: str) -> tuple[str, str]:
    """(namespace, name) of a write's object path (`.../namespaces/NS/R/NAME[/SUB]`)."""
    parts = [p for p in path.split("/") if p]
    namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else ""
    if parts[-1] in ("eviction", "status", "scale"):
        parts = parts[:-1]
    name = parts[-1]
    if parts[-2:-1] == ["namespaces"] or namespace == name:
        namespace = ""
    return namespace, name


def _audit_key(content: dict[str, Any]) -> tuple[str, str]:
    ref = content.get("ref") or {}
    return str(ref.get("namespace") or ""), str(ref.get("name") or "")


@dataclass
class AuditCounts:
    recorded: Counter[tuple[str, str]]
    reconciles: int
    applied_revisions: set[str]
    intents_open: int


def read_audit(audit_db: Path) -> AuditCounts:
    """Writes recorded (a `change` entry of a writing action), reconciles finished,
    revisions applied (succeeded or noop), and intents left without an outcome."""
    recorded: Counter[tuple[str, str]] = Counter()
    reconciles = 0
    applied: set[str] = set()
    with AuditReader(audit_db) as reader:
        for entry in reader.entries():
            content = entry.content
            if content.get("type") == CHANGE and content.get("action") in WRITE_ACTIONS:
                recorded[_audit_key(content)] += 1
            elif content.get("type") == RECONCILE_FINISHED:
                reconciles += 1
        for summary in reader.reconciles(1_000_000):
            if summary.outcome in ("succeeded", "noop"):
                applied.add(str(summary.revision.get("sha")))
        positions, settled = reader.intent_index()
    return AuditCounts(recorded, reconciles, applied, len(set(positions) - settled))


def latencies(commits: list[Commit], writes: list[LoggedRequest]) -> list[float]:
    """Seconds from each commit to gpuctl's first accepted write of the object it changed."""
    out = []
    for commit in commits:
        first = next((w.at for w in writes if w.at >= commit.at and w.path.startswith(commit.path)), None)
        if first is not None:
            out.append(first - commit.at)
    return out


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(share * len(ordered)) - 1)] if ordered else float("nan")


@dataclass
class Result:
    """Everything the soak prints; `failures` lists the broken invariants (empty: success)."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)


def report(commits: list[Commit], writes: list[LoggedRequest], audit: AuditCounts,
           footprint: Footprint, rollouts: tuple[int, int], served: dict[str, int],
           drifts: tuple[int, int], verified: bool) -> Result:
    """The figures and invariants of one soak."""
    result = Result()
    seen: Counter[tuple[str, str]] = Counter(_object_key(w.path) for w in writes)
    lost = seen - audit.recorded
    duplicate = audit.recorded - seen
    delays = latencies(commits, writes)
    unapplied = [c for c in commits if not _applied(c, commits, audit.applied_revisions)]
    faults = sum(n for kind, n in served.items() if kind != "forwarded")
    total = sum(served.values())
    kinds = ", ".join(f"{k} {n}" for k, n in Counter(c.kind for c in commits).items())
    result.lines += [
        f"reconciles: {audit.reconciles}",
        f"commits: {len(commits)} ({kinds}); "
        f"applied {len(commits) - len(unapplied)} of {len(commits)}",
        f"commit → write: n={len(delays)} p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(delays, 0.95) * 1000:.0f} ms",
        f"rollouts completed: {rollouts[0]} of {rollouts[1]} MIG changes",
        f"drift injected: {drifts[1]}, corrected: {drifts[0]}",
        f"audit entries (writes recorded): {sum(audit.recorded.values())}; cluster writes (proxy log, "
        f"gpuctl user agent, accepted, dry runs, Events and Leases excluded): {len(writes)}; "
        f"lost {sum(lost.values())}, duplicate {sum(duplicate.values())}, intents open {audit.intents_open}",
        f"API requests through the proxy: {total}, faults injected {faults} "
        f"({100 * faults / max(total, 1):.1f} %: {served})",
        "audit verify: " + ("passed" if verified else "FAILED"),
    ]
    for label, (rss, fds) in footprint.samples.items():
        result.lines.append(f"{label}: RSS {rss / 1024:.1f} MB, open fds {fds}")
    result.check(not lost, f"writes without an audit entry: {dict(lost)}")
    result.check(not duplicate, f"audit entries without a write (duplicates): {dict(duplicate)}")
    result.check(audit.intents_open == 0, f"{audit.intents_open} intents have no outcome")
    result.check(not unapplied, f"commits never applied: {[c.sha[:10] for c in unapplied]}")
    result.check(rollouts[0] == rollouts[1], f"rollouts completed {rollouts[0]} of {rollouts[1]}")
    result.check(drifts[0] == drifts[1], f"drift corrected {drifts[0]} of {drifts[1]}")
    result.check(verified, "gpuctl audit verify failed")
    _footprint_checks(result, footprint)
    return result


def _applied(commit: Commit, commits: list[Commit], applied: set[str]) -> bool:
    """A commit is applied when a reconcile of it succeeded, or when the daemon moved on to a
    newer head before it got to it (coalesced) and that newer commit was applied."""
    later = commits[commits.index(commit):]
    return any(c.sha in applied for c in later)


def _footprint_checks(result: Result, footprint: Footprint) -> None:
    samples = footprint.samples
    if "warm" in samples and "end" in samples:
        warm, end = samples["warm"][0], samples["end"][0]
        growth = (end - warm) / warm
        result.lines.append(f"RSS growth after warm-up: {growth * 100:+.1f} % (limit +10 %)")
        result.check(growth <= RSS_GROWTH_LIMIT, f"RSS grew {growth * 100:.1f} % after warm-up")
    if "warm" in samples and "end" in samples:
        warm_fds, end_fds = samples["warm"][1], samples["end"][1]
        result.check(end_fds <= warm_fds, f"open file descriptors grew from {warm_fds} to {end_fds}")

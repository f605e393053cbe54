"""Audit log benchmark: durable appends per second, and the time to verify a long chain.

    python -m bench.audit_append [--appends 2000] [--verify-entries 100000] [--dir DIR]

Appends go through `SqliteAuditLog` exactly as the engine calls it: each cluster write is a
write-ahead intent (`intent`) then its outcome (`change` naming the intent), each its own
fsynced transaction (`synchronous=FULL`, WAL), so a write costs two durable appends. The
outcome-only figure (one append per write, as before intents) is printed beside it. The
verification fixture is built with `durable=False` (same code path, no fsync) so that
building it does not dominate the run; verification itself reads it back like `gpuctl audit
verify`; the last figure is the indexed `--object` query of `gpuctl audit log` on the same log.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader, EntryFilter
from reconciler.audit.verification import verify_chain
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

_REVISION = RevisionInfo(sha="4f3c2a1b" * 5, author="Platform Bot <bot@example.com>", message="Resize MIG")


def _change(i: int) -> ChangeEntry:
    """A realistic change: a relabelled GPU node with a two-operation JSON patch."""
    return ChangeEntry(
        ref=ObjectRef("", "Node", "", f"gpu-node-{i % 512:03d}"),
        action=Action.RELABELLED,
        patch=[
            {"op": "replace", "path": "/metadata/labels/nvidia.com~1mig.config", "value": "all-1g.10gb"},
            {"op": "add", "path": "/metadata/annotations/gpuctl.dev~1rollout", "value": f"step-{i}"},
        ],
        message="MIG layout all-1g.10gb requested",
    )


_CHECK = {
    "how": "patched", "apiVersion": "v1",
    "merge": {"metadata": {"labels": {"nvidia.com/mig.config": "all-1g.10gb"}}},
}


def _append(path: Path, count: int, *, durable: bool, intents: bool = False) -> float:
    """Record `count` writes (inside reconciles of 1,000), each as an outcome alone or,
    with `intents`, as an intent and its outcome; return the seconds taken."""
    with SqliteAuditLog(path, durable=durable) as log:
        started = time.perf_counter()
        done = 0
        while done < count:
            reconcile_id = log.begin(_REVISION, Trigger.COMMIT)
            for i in range(done, min(count, done + 1000)):
                change = _change(i)
                intent_id = log.intent(reconcile_id, change, _CHECK) if intents else None
                log.change(reconcile_id, change, intent_id=intent_id)
            done = min(count, done + 1000)
            log.end(reconcile_id, ReconcileOutcome.SUCCEEDED)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=2000, help="audited writes to time, each way")
    parser.add_argument("--verify-entries", type=int, default=100_000, help="chain length to verify")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases (a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for intents, how in ((False, "outcome only"), (True, "intent + outcome")):
            durable_db = Path(tmp) / f"durable-{how.split()[0]}.db"
            seconds = _append(durable_db, args.appends, durable=True, intents=intents)
            with AuditReader(durable_db) as reader:
                total = verify_chain(reader).count
            print(
                f"durable appends (synchronous=FULL, WAL), {how}: {args.appends} writes "
                f"({total} rows with the reconcile entries) in {seconds:.2f} s = "
                f"{total / seconds:,.0f} appends/s = {args.appends / seconds:,.0f} audited writes/s"
            )

        bulk_db = Path(tmp) / "bulk.db"
        build = _append(bulk_db, args.verify_entries, durable=False)
        with AuditReader(bulk_db) as reader:
            started = time.perf_counter()
            result = verify_chain(reader)
            verify_seconds = time.perf_counter() - started
            started = time.perf_counter()
            node_changes = sum(1 for _ in reader.entries(EntryFilter(object_ref="Node/gpu-node-007")))
            query_seconds = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"verification failed: {result.problem}")
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("bulk.db*")) / 1e6
        print(
            f"fixture: {result.count} rows appended without fsync in {build:.1f} s "
            f"({result.count / build:,.0f} appends/s), {size_mb:.1f} MB"
        )
        print(
            f"verify: {result.count} entries in {verify_seconds:.2f} s "
            f"({result.count / verify_seconds:,.0f} entries/s)"
        )
        print(
            f"audit log --object Node/gpu-node-007: {node_changes} entries in {query_seconds * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()

"""Verification of the hash chain: finds and names the first entry that was changed, removed
or reordered (or renumbered), and entries cut off the end (via the recorded chain head).

Walks the rows in `seq` order in one read snapshot, in constant memory: each row must hash
to its stored hash (else it was *changed*) and must chain from the row before it. When the
link breaks, the hash it chains from tells what happened: a hash that some other row carries
means the rows were *reordered*; a hash no row carries means an entry was *removed*.
An *anchor* (a head hash kept elsewhere earlier) must still be in the chain, which catches
a chain rewritten from some point on with every hash recomputed.

Works on any `ChainSource`: the SQLite log (`AuditReader`) or a JSON Lines export
(`reconciler.audit.archive.JsonlExport`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from reconciler.audit.chain import GENESIS_HASH, link_hash
from reconciler.audit.intents import IntentLedger
from reconciler.audit.query import AuditEntry


class Tampering(StrEnum):
    """What was done to the log, as far as the chain can tell."""

    CHANGED = "changed"
    REMOVED = "removed"
    REORDERED = "reordered"
    RENUMBERED = "renumbered"
    REWRITTEN = "rewritten"
    # Intents and outcomes (the chain itself intact): a write without a record, recorded twice,
    # or an outcome of no intent.
    UNSETTLED = "unsettled"
    DOUBLE_OUTCOME = "double-outcome"
    UNANNOUNCED = "unannounced"


class ChainSource(Protocol):
    """Where the entries to verify come from."""

    def snapshot(self) -> AbstractContextManager[None]:
        """Hold one consistent view of the entries while verifying."""

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, in stored (`seq`) order."""

    def seq_of_hash(self, entry_hash: str) -> int | None:
        """The position of the entry carrying `entry_hash`, if any."""

    def head(self) -> tuple[int, str] | None:
        """The recorded newest entry (seq, hash), or None if the record is gone."""


@dataclass(frozen=True)
class ChainProblem:
    """The first bad entry: what happened, at which position (None: no single one), in words."""

    tampering: Tampering
    seq: int | None
    message: str


@dataclass(frozen=True)
class VerifyResult:
    """How many entries were checked, the newest hash, and the first problem (None if intact)."""

    count: int
    head_hash: str
    problem: ChainProblem | None
    # Intents without an outcome whose writer may still be running (not an error).
    open_intents: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(source: ChainSource, anchor: str | None = None) -> VerifyResult:
    """Check every entry of `source`; stop at the first problem. With `anchor` (a head hash
    printed by an earlier verification), also require that entry to still be in the chain."""
    with source.snapshot():
        previous: AuditEntry | None = None
        count = 0
        anchor_found = anchor is None or anchor == GENESIS_HASH
        ledger = IntentLedger()
        for entry in source.entries():
            problem = _check_entry(source, entry, previous)
            if problem is None:
                paired = ledger.see(entry.seq, entry.content_json)
                if paired is not None:
                    problem = ChainProblem(Tampering(paired.what), paired.seq, paired.message)
            if problem is not None:
                return VerifyResult(count, previous.hash if previous else GENESIS_HASH, problem)
            anchor_found = anchor_found or entry.hash == anchor
            previous = entry
            count += 1
        head_hash = previous.hash if previous else GENESIS_HASH
        problem = _check_head(source, previous)
        if problem is None:
            unsettled = ledger.finish()
            if unsettled is not None:
                problem = ChainProblem(Tampering.UNSETTLED, unsettled.seq, unsettled.message)
        if problem is None and not anchor_found:
            problem = ChainProblem(
                Tampering.REWRITTEN,
                None,
                f"no entry carries the anchor hash {anchor}: the log was rewritten (or the anchor "
                "comes from another log)",
            )
        return VerifyResult(count, head_hash, problem, ledger.open_count)


def _check_entry(source: ChainSource, entry: AuditEntry, previous: AuditEntry | None) -> ChainProblem | None:
    if link_hash(entry.prev_hash, entry.content_json) != entry.hash:
        return ChainProblem(
            Tampering.CHANGED,
            entry.seq,
            f"entry {entry.describe()} was changed: its content no longer matches its hash",
        )
    expected_prev = previous.hash if previous else GENESIS_HASH
    expected_seq = previous.seq + 1 if previous else 1
    if entry.prev_hash != expected_prev:
        return _broken_link(source, entry, previous, expected_seq)
    if entry.seq != expected_seq:
        return ChainProblem(
            Tampering.RENUMBERED,
            entry.seq,
            f"entry {entry.describe()} was renumbered: the chain says it is #{expected_seq}",
        )
    return None


def _broken_link(
    source: ChainSource, entry: AuditEntry, previous: AuditEntry | None, expected_seq: int
) -> ChainProblem:
    after = f"entry #{previous.seq}" if previous else "the start of the log"
    if entry.prev_hash == GENESIS_HASH:
        return ChainProblem(
            Tampering.REORDERED,
            entry.seq,
            f"entry {entry.describe()} is out of order: it is the first entry of the chain "
            f"but comes after {after}",
        )
    predecessor = source.seq_of_hash(entry.prev_hash)
    if predecessor is not None:
        return ChainProblem(
            Tampering.REORDERED,
            entry.seq,
            f"entry {entry.describe()} is out of order: it chains from entry #{predecessor}, "
            f"not from {after}",
        )
    if entry.seq > expected_seq:
        missing = f"#{expected_seq}" if entry.seq == expected_seq + 1 else f"#{expected_seq}–#{entry.seq - 1}"
        return ChainProblem(
            Tampering.REMOVED,
            expected_seq,
            f"entry {missing} was removed: entry {entry.describe()} chains from an entry "
            "no longer in the log",
        )
    return ChainProblem(
        Tampering.REMOVED,
        entry.seq,
        f"an entry between {after} and entry {entry.describe()} was removed (or {after} was changed "
        "and re-hashed): it chains from an entry no longer in the log",
    )


def _check_head(source: ChainSource, last: AuditEntry | None) -> ChainProblem | None:
    head = source.head()
    last_seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    if head is None:
        return ChainProblem(
            Tampering.REMOVED,
            last_seq + 1,
            "the chain head record was removed, so truncation cannot be ruled out",
        )
    head_seq, head_hash = head
    if (head_seq, head_hash) == (last_seq, last_hash):
        return None
    if head_seq > last_seq:
        missing = f"#{last_seq + 1}" if head_seq == last_seq + 1 else f"#{last_seq + 1}–#{head_seq}"
        return ChainProblem(
            Tampering.REMOVED,
            last_seq + 1,
            f"entry {missing} was removed from the end of the log (the chain head records #{head_seq})",
        )
    return ChainProblem(
        Tampering.CHANGED,
        last_seq,
        f"the chain head (#{head_seq}) does not match the newest entry #{last_seq}: the log was altered",
    )

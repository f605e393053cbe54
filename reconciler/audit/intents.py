"""Write-ahead intents: who wrote an intent, whether that writer still runs, and which intents
of the log are still open (no outcome yet).

Before each cluster write the engine appends an `intent` entry (what it is about to change and
how to tell afterwards whether the write landed); after the write, the outcome: a `change`
entry carrying the same `intent_id`, or an `intent-void` entry when the write did not happen.
An intent without an outcome is *open*. It is *orphaned*, and so due to be resolved against
the cluster, once nobody can still settle it: its reconcile has ended, or the process that
wrote it is gone (same host, and no process with that pid and start time runs), or it was
written on another host (one audit log is written from one place at a time: the leader).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.audit.schema import INTENT, OUTCOMES, RECONCILE_FINISHED, RECONCILE_STARTED


@dataclass(frozen=True)
class Writer:
    """The process that writes entries: a fresh id per open log, its host, pid and start time."""

    id: str
    host: str
    pid: int
    started: str

    def to_content(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "pid": self.pid, "started": self.started}


def this_writer() -> Writer:
    return Writer(uuid.uuid4().hex, socket.gethostname(), os.getpid(), process_start(os.getpid()))


def process_start(pid: int) -> str:
    """The start time of process `pid` in clock ticks since boot (Linux `/proc`), "" if unknown.
    With the pid it names one process: a pid reused after a restart has another start time."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        fields = text.rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19] if len(fields) > 19 else ""


def writer_running(writer: dict[str, Any], me: Writer) -> bool:
    """Whether the writer of an intent may still settle it itself."""
    if writer.get("id") == me.id:
        return True
    if writer.get("host") != me.host:
        return False
    pid = int(writer.get("pid") or 0)
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    started = str(writer.get("started") or "")
    return not started or process_start(pid) == started


@dataclass(frozen=True)
class OpenIntent:
    """An intent without an outcome, as stored, and whether its reconcile has ended."""

    seq: int
    content: dict[str, Any]
    reconcile_ended: bool

    @property
    def intent_id(self) -> str:
        return str(self.content["intent_id"])

    @property
    def writer(self) -> dict[str, Any]:
        return dict(self.content.get("writer") or {})


def open_intents(conn: sqlite3.Connection) -> list[OpenIntent]:
    """Every intent of the log that has no outcome, oldest first (read from the intent index)."""
    rows = conn.execute(
        "SELECT i.seq, i.content, EXISTS (SELECT 1 FROM entries AS f WHERE f.reconcile_id = i.reconcile_id "
        "AND f.entry_type = ?) FROM entries AS i WHERE i.intent_id IN (SELECT intent_id FROM entries "
        "WHERE intent_id IS NOT NULL GROUP BY intent_id HAVING count(*) = 1) AND i.entry_type = ? "
        "ORDER BY i.seq",
        (RECONCILE_FINISHED, INTENT),
    ).fetchall()
    return [OpenIntent(int(seq), json.loads(content), bool(ended)) for seq, content, ended in rows]


def is_settled(conn: sqlite3.Connection, intent_id: str) -> bool:
    """Whether the intent already has an outcome."""
    marks = ", ".join("?" * len(OUTCOMES))
    row = conn.execute(
        f"SELECT 1 FROM entries WHERE intent_id = ? AND entry_type IN ({marks}) LIMIT 1",
        (intent_id, *OUTCOMES),
    ).fetchone()
    return row is not None


_SETTLING_OUTCOMES = ("succeeded", "noop")


@dataclass(frozen=True)
class LedgerProblem:
    """An intent/outcome pairing that is wrong: what, at which entry, in words."""

    what: str  # "unsettled", "double-outcome" or "unannounced"
    seq: int
    message: str


class IntentLedger:
    """Pairs intents with outcomes while verification walks the log in order.

    Every outcome must follow its intent, and an intent has exactly one outcome. An intent
    without one at the end of the log is *open* while its writer may still be running; it is
    an error when a reconcile that began after it has finished as succeeded or noop (each
    pass settles the orphaned intents before its first write, so that pass should have
    settled it). An outcome written later than that (a second writer was still running) is
    not an error: the write is recorded, once."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[int, str]] = {}  # intent id → (seq, description), in log order
        self._settled: set[str] = set()
        self._started: dict[str, int] = {}
        self._settling_began = 0  # the latest start of a reconcile that finished succeeded/noop

    @property
    def open_count(self) -> int:
        return len(self._open)

    def see(self, seq: int, content_json: str) -> LedgerProblem | None:
        if '"intent_id":' not in content_json and '"type":"reconcile-' not in content_json:
            return None  # neither an intent, an outcome nor a reconcile boundary: skip the parse
        content: dict[str, Any] = json.loads(content_json)
        kind = content.get("type")
        if kind == RECONCILE_STARTED:
            self._started[str(content.get("reconcile_id"))] = seq
            return None
        if kind == RECONCILE_FINISHED:
            began = self._started.pop(str(content.get("reconcile_id")), None)
            if began is not None and content.get("outcome") in _SETTLING_OUTCOMES:
                self._settling_began = max(self._settling_began, began)
            return None
        intent_id = str(content.get("intent_id"))
        what = f"{content.get('object', '?')} {content.get('action', '')}".strip()
        if kind == INTENT:
            self._open[intent_id] = (seq, what)
            return None
        if kind not in OUTCOMES:
            return None
        if intent_id in self._open:
            del self._open[intent_id]
            self._settled.add(intent_id)
            return None
        if intent_id in self._settled:
            message = f"entry #{seq} is a second outcome of intent {intent_id}: its write is recorded twice"
            return LedgerProblem("double-outcome", seq, message)
        message = f"entry #{seq} is the outcome of intent {intent_id}, which no earlier entry announced"
        return LedgerProblem("unannounced", seq, message)

    def finish(self) -> LedgerProblem | None:
        """After the last entry: the oldest intent still open that a later pass should have settled."""
        if not self._open:
            return None
        intent_seq, what = next(iter(self._open.values()))
        began = self._settling_began
        if intent_seq > began:
            return None
        return LedgerProblem(
            "unsettled",
            intent_seq,
            f"intent #{intent_seq} ({what}) has no outcome, though a reconcile begun after it (#{began}) "
            "has finished: its write is unrecorded",
        )

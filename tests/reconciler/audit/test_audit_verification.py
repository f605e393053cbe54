"""Chain verification: an intact log verifies, and each kind of tampering done directly on
the SQLite file (triggers dropped first, as an attacker would) is detected and named."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from audit_testkit import RecordReconcile, node_change

from reconciler.audit.chain import canonical_json, link_hash
from reconciler.audit.query import AuditReader
from reconciler.audit.verification import Tampering, VerifyResult, verify_chain


def _verify(db_path: Path) -> VerifyResult:
    with AuditReader(db_path) as reader:
        return verify_chain(reader)


@pytest.fixture
def ten_entries(db_path: Path, record_reconcile: RecordReconcile) -> Path:
    """A log of two reconciles: entries #1-#5 and #6-#10."""
    record_reconcile(sha="1111aaaa", changes=[node_change(i) for i in range(3)])
    record_reconcile(sha="2222bbbb", changes=[node_change(i) for i in range(3, 6)])
    return db_path


def _attacker(db_path: Path) -> sqlite3.Connection:
    """A plain connection with the append-only triggers dropped."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    return conn


def test_intact_log_verifies_with_count(ten_entries: Path) -> None:
    """An untouched log verifies: every entry counted, head is the newest hash."""
    result = _verify(ten_entries)
    assert result.ok
    assert result.count == 10
    with AuditReader(ten_entries) as reader:
        assert result.head_hash == list(reader.entries())[-1].hash


def test_empty_log_verifies(db_path: Path, audit_log: object) -> None:
    """A freshly created log has zero entries and verifies."""
    result = _verify(db_path)
    assert result.ok
    assert result.count == 0


def test_changed_entry_is_named(ten_entries: Path) -> None:
    """Editing one entry's content (an action rewritten) is reported as entry #N changed."""
    conn = _attacker(ten_entries)
    conn.execute("UPDATE entries SET content = json_set(content, '$.action', 'unchanged') WHERE seq = 7")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.CHANGED
    assert result.problem.seq == 7
    assert "#7" in result.problem.message
    assert result.count == 6


def test_removed_entry_is_named(ten_entries: Path) -> None:
    """Deleting an entry from the middle is reported as that entry removed."""
    conn = _attacker(ten_entries)
    conn.execute("DELETE FROM entries WHERE seq = 4")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REMOVED
    assert result.problem.seq == 4
    assert "#4 was removed" in result.problem.message


def test_removed_entry_with_renumbering_is_detected(ten_entries: Path) -> None:
    """Deleting an entry and renumbering the rest to close the gap still breaks the chain."""
    conn = _attacker(ten_entries)
    conn.execute("DELETE FROM entries WHERE seq = 4")
    conn.execute("UPDATE entries SET seq = seq - 1 WHERE seq > 4")
    conn.execute("UPDATE chain_head SET seq = 9")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REMOVED
    assert result.problem.seq == 4


def test_entries_removed_from_the_end_are_detected(ten_entries: Path) -> None:
    """Cutting the newest entries off the log is caught by the recorded chain head."""
    conn = _attacker(ten_entries)
    conn.execute("DELETE FROM entries WHERE seq >= 9")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REMOVED
    assert result.problem.seq == 9
    assert "#9–#10" in result.problem.message


def test_reordered_entries_are_named(ten_entries: Path) -> None:
    """Swapping the positions of two entries is reported as the first one out of order."""
    conn = _attacker(ten_entries)
    conn.execute("UPDATE entries SET seq = -1 WHERE seq = 3")
    conn.execute("UPDATE entries SET seq = 3 WHERE seq = 4")
    conn.execute("UPDATE entries SET seq = 4 WHERE seq = -1")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REORDERED
    assert result.problem.seq == 3
    assert "chains from entry #4" in result.problem.message


def test_entry_moved_to_the_end_is_reordered(ten_entries: Path) -> None:
    """Moving an early entry to the end is reported where the chain first skips it."""
    conn = _attacker(ten_entries)
    conn.execute("UPDATE entries SET seq = 11 WHERE seq = 2")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REORDERED
    assert result.problem.seq == 3


def test_changed_and_rehashed_entry_is_still_detected(ten_entries: Path) -> None:
    """Rewriting an entry and recomputing its own hash breaks the next entry's link."""
    conn = _attacker(ten_entries)
    prev_hash, content = conn.execute("SELECT prev_hash, content FROM entries WHERE seq = 5").fetchone()
    forged = canonical_json({**json.loads(content), "outcome": "failed", "error": "forged"})
    conn.execute(
        "UPDATE entries SET content = ?, hash = ? WHERE seq = 5", (forged, link_hash(prev_hash, forged))
    )
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.seq == 6
    assert "#5" in result.problem.message


def test_renumbered_entry_is_reported(ten_entries: Path) -> None:
    """Changing only the position number of the newest entry is reported as renumbering."""
    conn = _attacker(ten_entries)
    conn.execute("UPDATE entries SET seq = 20 WHERE seq = 10")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.RENUMBERED
    assert result.problem.seq == 20


def test_dropped_chain_head_is_reported(ten_entries: Path) -> None:
    """Dropping the chain-head table (to hide a truncation) is itself reported."""
    conn = _attacker(ten_entries)
    conn.execute("DROP TABLE chain_head")
    conn.close()
    result = _verify(ten_entries)
    assert result.problem is not None
    assert result.problem.tampering is Tampering.REMOVED
    assert "chain head record was removed" in result.problem.message

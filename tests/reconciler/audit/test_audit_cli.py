"""`gpuctl audit log|verify|export` and `gpuctl status` through the real typer app: output,
filters, and exit codes (0 ok, 1 bad entry, 2 usage or I/O error)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from audit_testkit import RecordReconcile, node_change
from typer.testing import CliRunner

from gpuctl.cli import app
from gpuctl.cli.audit_cmd import parse_since
from reconciler.audit.chain import GENESIS_HASH, canonical_json, link_hash
from schemas.results import ReconcileOutcome

runner = CliRunner()


@pytest.fixture
def populated(db_path: Path, record_reconcile: RecordReconcile) -> Path:
    """Two reconciles: a success (2 changes) and a failure (1 change)."""
    record_reconcile(sha="aaaa1111bbbb", changes=[node_change(1), node_change(2)])
    record_reconcile(
        sha="cccc2222dddd", changes=[node_change(2)], outcome=ReconcileOutcome.FAILED, error="boom"
    )
    return db_path


def _tamper(db_path: Path, *statements: str) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_verify_ok_prints_count_and_exits_0(populated: Path) -> None:
    """verify on an intact log exits 0 and says how many entries it checked."""
    result = runner.invoke(app, ["audit", "verify", "--db", str(populated)])
    assert result.exit_code == 0, result.stderr
    assert "7 entries verified" in result.stdout


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["UPDATE entries SET content = json_set(content, '$.action', 'deleted') WHERE seq = 3"], "#3"),
        (["DELETE FROM entries WHERE seq = 3"], "#3 was removed"),
        (
            [
                "UPDATE entries SET seq = -1 WHERE seq = 2",
                "UPDATE entries SET seq = 2 WHERE seq = 3",
                "UPDATE entries SET seq = 3 WHERE seq = -1",
            ],
            "out of order",
        ),
    ],
    ids=["changed", "removed", "reordered"],
)
def test_verify_names_the_first_bad_entry_and_exits_1(
    populated: Path, statements: list[str], named: str
) -> None:
    """verify exits 1 and names the changed, removed or reordered entry."""
    _tamper(populated, *statements)
    result = runner.invoke(app, ["audit", "verify", "--db", str(populated)])
    assert result.exit_code == 1
    assert "FAILED verification" in result.stderr
    assert named in result.stderr


def test_missing_database_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """Every command exits 2 and names the file when the database does not exist."""
    missing = tmp_path / "nowhere.db"
    for args in (["audit", "verify"], ["audit", "log"], ["audit", "export", "--jsonl"], ["status"]):
        result = runner.invoke(app, [*args, "--db", str(missing)])
        assert result.exit_code == 2, args
        assert "nowhere.db: no audit database here" in result.stderr
    assert not missing.exists()


def test_default_db_comes_from_the_environment(populated: Path) -> None:
    """Without --db, $GPUCTL_AUDIT_DB names the database."""
    result = runner.invoke(app, ["audit", "verify"], env={"GPUCTL_AUDIT_DB": str(populated)})
    assert result.exit_code == 0
    assert str(populated) in result.stdout


def test_usage_errors_exit_2(populated: Path) -> None:
    """A bad --since, --object or -o/--format is a usage error (exit 2); export needs no --jsonl."""
    for args in (
        ["audit", "log", "--since", "last tuesday"],
        ["audit", "log", "--object", "gpu-node-1"],
        ["audit", "log", "--format", "xml"],
        ["audit", "log", "-o", "xml"],
    ):
        result = runner.invoke(app, [*args, "--db", str(populated)])
        assert result.exit_code == 2, args
    export = runner.invoke(app, ["audit", "export", "--audit-db", str(populated)])
    assert export.exit_code == 0 and len(export.stdout.splitlines()) == 7


def test_log_text_lists_entries_with_filters(populated: Path) -> None:
    """log prints one line per entry; --object and --revision narrow it down."""
    everything = runner.invoke(app, ["audit", "log", "--db", str(populated)])
    assert everything.exit_code == 0
    assert len(everything.stdout.splitlines()) == 7
    node2 = runner.invoke(app, ["audit", "log", "--db", str(populated), "--object", "Node/gpu-node-2"])
    assert [line.split()[0] for line in node2.stdout.splitlines()] == ["#3", "#6"]
    failed = runner.invoke(app, ["audit", "log", "--db", str(populated), "--revision", "cccc"])
    lines = failed.stdout.splitlines()
    assert len(lines) == 3
    assert "failed" in lines[-1]
    assert "boom" in lines[-1]


def test_log_since_accepts_durations_and_iso_times(populated: Path) -> None:
    """--since takes a duration ago or an ISO timestamp (the fixture clock is 2026-11-01 12:00 UTC)."""
    iso = runner.invoke(app, ["audit", "log", "--db", str(populated), "--since", "2026-11-01T12:00:04Z"])
    assert [line.split()[0] for line in iso.stdout.splitlines()] == ["#5", "#6", "#7"]
    recent = runner.invoke(app, ["audit", "log", "--db", str(populated), "--since", "1h"])
    assert recent.exit_code == 0
    assert recent.stdout == ""  # every entry is older than an hour


def test_log_json_is_a_list_of_chain_records(populated: Path) -> None:
    """--format json prints every matching entry with seq, hashes and content."""
    result = runner.invoke(
        app, ["audit", "log", "--db", str(populated), "--format", "json", "--revision", "aaaa"]
    )
    records = json.loads(result.stdout)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[0]["entry"]["revision"]["sha"] == "aaaa1111bbbb"
    assert records[1]["entry"]["object"] == "Node/gpu-node-1"


def test_export_jsonl_can_be_reverified_offline(populated: Path, tmp_path: Path) -> None:
    """export --jsonl --out writes one record per line whose hashes re-verify from genesis."""
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(app, ["audit", "export", "--jsonl", "--db", str(populated), "--out", str(out)])
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7
    previous = GENESIS_HASH
    for line in lines:
        record = json.loads(line)
        assert link_hash(previous, canonical_json(record["entry"])) == record["hash"]
        previous = record["hash"]


def test_export_to_unwritable_path_exits_2(populated: Path, tmp_path: Path) -> None:
    """An --out in a directory that does not exist is an I/O error (exit 2)."""
    result = runner.invoke(
        app, ["audit", "export", "--jsonl", "--db", str(populated), "--out", str(tmp_path / "no" / "x.jsonl")]
    )
    assert result.exit_code == 2
    assert "cannot write the export" in result.stderr


def test_status_shows_last_applied_revision_and_recent_reconciles(populated: Path) -> None:
    """status names the last reconcile's result, the last applied revision, and a table."""
    result = runner.invoke(app, ["status", "--db", str(populated)], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "Last reconcile:        rev cccc2222dddd" in result.stdout
    assert "failed (boom)" in result.stdout
    assert "Last applied revision: rev aaaa1111bbbb" in result.stdout
    assert "Last 2 reconciles" in result.stdout


def test_not_an_audit_database_exits_2(tmp_path: Path) -> None:
    """A SQLite file without the audit schema is refused with exit 2."""
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    result = runner.invoke(app, ["audit", "verify", "--db", str(other)])
    assert result.exit_code == 2
    assert "not a gpuctl audit database" in result.stderr


def _export(db_path: Path, out: Path) -> list[str]:
    result = runner.invoke(app, ["audit", "export", "--jsonl", "--db", str(db_path), "--out", str(out)])
    assert result.exit_code == 0
    return out.read_text(encoding="utf-8").splitlines()


def test_verify_an_export_offline(populated: Path, tmp_path: Path) -> None:
    """verify --jsonl checks an export file; a reordered or edited line fails with exit 1."""
    out = tmp_path / "audit.jsonl"
    lines = _export(populated, out)
    ok = runner.invoke(app, ["audit", "verify", "--jsonl", str(out)])
    assert ok.exit_code == 0
    assert "7 entries verified" in ok.stdout
    out.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n", encoding="utf-8")
    reordered = runner.invoke(app, ["audit", "verify", "--jsonl", str(out)])
    assert reordered.exit_code == 1
    assert "out of order" in reordered.stderr
    out.write_text(
        "\n".join([*lines[:4], lines[4].replace("cccc2222dddd", "eeee3333ffff"), *lines[5:]]) + "\n"
    )
    edited = runner.invoke(app, ["audit", "verify", "--jsonl", str(out)])
    assert edited.exit_code == 1
    assert "#5" in edited.stderr
    assert "was changed" in edited.stderr


def test_malformed_export_line_is_named_with_file_and_line(populated: Path, tmp_path: Path) -> None:
    """A broken line in an export is a clear error naming file:line (exit 2)."""
    out = tmp_path / "audit.jsonl"
    lines = _export(populated, out)
    out.write_text("\n".join([*lines[:2], '{"seq": "three"}', *lines[3:]]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", "verify", "--jsonl", str(out)])
    assert result.exit_code == 2
    assert "audit.jsonl:3: field 'seq' must be an integer" in result.stderr
    out.write_text(lines[0] + "\n{not json\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", "verify", "--jsonl", str(out)])
    assert result.exit_code == 2
    assert "audit.jsonl:2: not valid JSON" in result.stderr


def test_anchor_catches_a_fully_rewritten_chain(populated: Path, tmp_path: Path) -> None:
    """A chain rewritten with every hash recomputed passes plain verify but fails its anchor."""
    first = runner.invoke(app, ["audit", "verify", "--db", str(populated)])
    anchor = first.stdout.split("head ")[1].strip()
    assert runner.invoke(app, ["audit", "verify", "--db", str(populated), "--anchor", anchor]).exit_code == 0
    conn = sqlite3.connect(populated, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    rows = conn.execute("SELECT seq, content FROM entries ORDER BY seq").fetchall()
    previous = GENESIS_HASH
    for seq, content in rows:  # the attacker rewrites entry #2 and re-chains everything after it
        body = canonical_json({**json.loads(content), "action": "unchanged"}) if seq == 2 else content
        new_hash = link_hash(previous, body)
        conn.execute(
            "UPDATE entries SET content = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (body, previous, new_hash, seq),
        )
        previous = new_hash
    conn.execute("UPDATE chain_head SET hash = ?", (previous,))
    conn.close()
    assert runner.invoke(app, ["audit", "verify", "--db", str(populated)]).exit_code == 0
    anchored = runner.invoke(app, ["audit", "verify", "--db", str(populated), "--anchor", anchor])
    assert anchored.exit_code == 1
    assert "the log was rewritten" in anchored.stderr


def test_since_parsing() -> None:
    """--since: durations count back from now; ISO times keep their offset, naive ones are UTC."""
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert parse_since("1h30m", now) == datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00+02:00") == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(typer.BadParameter, match="neither a duration"):
        parse_since("a week ago")

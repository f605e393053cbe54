"""A JSON Lines export of the audit log (`gpuctl audit export --jsonl`) read back as a chain
source, so an archived export can be verified without the database it came from.

Each line is `{"seq", "prev_hash", "hash", "entry"}`; the entry's canonical JSON is what its
hash covers. An export holds no separate chain head, so entries cut off its end are only
caught with an anchor (`verify_chain(..., anchor=…)`). Malformed lines are reported with
file and line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.audit.chain import GENESIS_HASH, canonical_json
from reconciler.audit.errors import AuditStoreError
from reconciler.audit.query import AuditEntry

_RECORD_FIELDS: dict[str, tuple[type, str]] = {
    "seq": (int, "an integer"),
    "prev_hash": (str, "a string"),
    "hash": (str, "a string"),
    "entry": (dict, "an object"),
}


class JsonlExport:
    """An export file; reading it checks every line's shape (ValueError-free: AuditStoreError)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AuditStoreError(f"{self.path}: no such export file")
        self._seq_by_hash: dict[str, int] = {}
        self._last: tuple[int, str] | None = None
        for entry in self.entries():
            self._seq_by_hash[entry.hash] = entry.seq
            self._last = (entry.seq, entry.hash)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A file needs no transaction; present for the `ChainSource` seam."""
        yield

    def entries(self) -> Iterator[AuditEntry]:
        """Every record, in file order."""
        try:
            with self.path.open(encoding="utf-8") as lines:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield self._entry(number, line)
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditStoreError(f"{self.path}: cannot read the export: {exc}") from exc

    def seq_of_hash(self, entry_hash: str) -> int | None:
        return self._seq_by_hash.get(entry_hash)

    def head(self) -> tuple[int, str] | None:
        """The last record; an export has no head of its own (see the module docstring)."""
        return self._last or (0, GENESIS_HASH)

    def _entry(self, number: int, line: str) -> AuditEntry:
        where = f"{self.path}:{number}"
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AuditStoreError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise AuditStoreError(f"{where}: expected an object with {', '.join(_RECORD_FIELDS)}")
        for field, (kind, described) in _RECORD_FIELDS.items():
            value = record.get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise AuditStoreError(
                    f"{where}: field {field!r} must be {described} "
                    '(each line is {"seq", "prev_hash", "hash", "entry"} as `gpuctl audit export` writes it)'
                )
        return AuditEntry(record["seq"], record["prev_hash"], record["hash"], canonical_json(record["entry"]))

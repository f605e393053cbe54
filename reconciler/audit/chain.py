"""The hash chain: canonical JSON of an entry's content and the link hash of each row.

Each row stores `hash = SHA-256(previous row's hash + canonical JSON of its own content)`;
the first row chains from `GENESIS_HASH`. Canonical JSON is UTF-8 with sorted keys and no
whitespace, so the same content always hashes the same. Used by the store (append) and by
verification; imports nothing but the standard library.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# A fixed, documented starting point: SHA-256 of the string "gpuctl audit log genesis".
GENESIS_HASH = hashlib.sha256(b"gpuctl audit log genesis").hexdigest()


def canonical_json(content: Any) -> str:
    """`content` as canonical JSON text: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def link_hash(previous_hash: str, content_json: str) -> str:
    """The hash a row carries: SHA-256 over the previous row's hash followed by its content JSON."""
    return hashlib.sha256((previous_hash + content_json).encode("utf-8")).hexdigest()

"""Tenancy at apply time: every object a pass is about to write must lie in a namespace and
be of a kind that `gpuctl.yaml` `allow` permits, checked on the objects as they will be sent
(after a missing namespace became `default`), before the first write.

Validation reports the same violations with file and line; this check is the guard for the
paths that skip validation or that validation cannot see (a namespaced object written
without a namespace, a desired state built in code). A violation fails the whole pass.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from reconciler.errors import TerminalError
from reconciler.protocols import KubeObject
from schemas.kinds import AllowList
from schemas.refs import ObjectRef

# At most this many violations are named in the error (the rest are counted).
_NAMED = 10


class TenancyError(TerminalError):
    """Objects outside the allowlist; nothing of the pass was written."""


def allowed(value: str, patterns: list[str]) -> bool:
    """`value` matches one of the shell-style `patterns` (an empty list allows everything)."""
    return not patterns or any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def violations(objects: Iterable[KubeObject], allow: AllowList | None) -> list[str]:
    """What in `objects` the allowlist forbids, one line per object and reason."""
    if allow is None:
        return []
    found: list[str] = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        if ref.namespace and not allowed(ref.namespace, allow.namespaces):
            found.append(f"{ref}: namespace {ref.namespace!r} is not in allow.namespaces")
        if not allowed(ref.kind, allow.kinds):
            found.append(f"{ref}: kind {ref.kind} is not in allow.kinds")
    return found


def enforce(objects: Iterable[KubeObject], allow: AllowList | None) -> None:
    """Raise `TenancyError` naming the objects outside `allow`, if there are any."""
    found = violations(objects, allow)
    if found:
        more = f" (+{len(found) - _NAMED} more)" if len(found) > _NAMED else ""
        named = "; ".join(found[:_NAMED])
        raise TenancyError(f"refused by gpuctl.yaml allow, nothing applied: {named}{more}")

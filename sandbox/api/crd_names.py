"""The names check of a CustomResourceDefinition, as kube-apiserver's naming controller does it:
a CRD whose plural, singular, short names, kind or list kind is already used by another accepted
CRD of the same group gets `NamesAccepted=False` (the reason of the last conflicting check, e.g.
`ListKindConflict`, message `"WidgetList" is already in use`) and `Established=False`
(`NotAccepted`), and its kind is not served."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def names_accepted(crd: dict[str, Any]) -> bool:
    """Whether the stored CRD's NamesAccepted condition is True."""
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "NamesAccepted" and c.get("status") == "True" for c in conditions)


def _names(crd: dict[str, Any]) -> dict[str, Any]:
    names = dict((crd.get("spec") or {}).get("names") or {})
    kind = str(names.get("kind") or "")
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", kind + "List")
    return names


def name_conflict(crd: dict[str, Any], others: Iterable[dict[str, Any]]) -> tuple[str, str] | None:
    """(reason, message) when `crd`'s names clash with those of `others` (accepted CRDs of its
    group); None when every name is free."""
    resources: set[str] = set()
    kinds: set[str] = set()
    for other in others:
        names = _names(other)
        resources |= {str(names.get("plural") or ""), str(names.get("singular") or "")}
        resources |= {str(s) for s in names.get("shortNames") or ()}
        kinds |= {str(names.get("kind") or ""), str(names.get("listKind") or "")}
    resources.discard("")
    kinds.discard("")
    mine = _names(crd)
    found: tuple[str, str] | None = None
    checks = [
        ("PluralConflict", [mine.get("plural")], resources),
        ("SingularConflict", [mine.get("singular")], resources),
        ("ShortNamesConflict", list(mine.get("shortNames") or ()), resources),
        ("KindConflict", [mine.get("kind")], kinds),
        ("ListKindConflict", [mine.get("listKind")], kinds),
    ]
    for reason, wanted, taken in checks:  # the last conflicting check names the reason
        clash = next((str(name) for name in wanted if name and str(name) in taken), None)
        if clash is not None:
            found = (reason, f'"{clash}" is already in use')
    return found


def conflict_status(reason: str, message: str, now: str, stored_versions: list[str]) -> dict[str, Any]:
    """The status the real server gives a CRD whose names are not accepted."""
    return {
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": stored_versions,
        "conditions": [
            {"type": "NamesAccepted", "status": "False", "reason": reason, "message": message,
             "lastTransitionTime": now},
            {"type": "Established", "status": "False", "reason": "NotAccepted",
             "message": "not all names are accepted", "lastTransitionTime": now},
        ],
    }

"""Which nodes a GPUNodePool selects: two pools with the same selector are an error (a node
can carry one pool's MIG and device-plugin labels only); two different selectors that one
node could satisfy at once are a warning, with an example label set that matches both.

The overlap search builds a candidate label set from both selectors and keeps it only if
both really match it, so a reported overlap is always real; some exotic overlaps (several
NotIn/DoesNotExist combinations) may go unreported.
"""

from __future__ import annotations

from reconciler.validation.context import Context
from schemas.diagnostics import Diagnostic, Severity
from schemas.kinds import GPUNodePool, LabelSelector

RULE_DUPLICATE = "pool-selector-duplicate"
RULE_OVERLAP = "pool-selector-overlap"


def overlap_witness(a: LabelSelector, b: LabelSelector) -> dict[str, str] | None:
    """Labels of a node both selectors match, or None if none was found."""
    labels: dict[str, str] = {}
    for key, value in [*a.match_labels.items(), *b.match_labels.items()]:
        if labels.setdefault(key, value) != value:
            return None
    expressions = [*a.match_expressions, *b.match_expressions]
    for requirement in expressions:
        if requirement.key in labels or requirement.operator != "In":
            continue
        allowed = set(requirement.values)
        for other in expressions:
            if other.key == requirement.key and other.operator == "In":
                allowed &= set(other.values)
            if other.key == requirement.key and other.operator == "NotIn":
                allowed -= set(other.values)
        if not allowed:
            return None
        labels[requirement.key] = sorted(allowed)[0]
    for requirement in expressions:
        if requirement.operator == "Exists" and requirement.key not in labels:
            labels[requirement.key] = "present"
    if a.matches(labels) and b.matches(labels):
        return labels
    return None


def check_pool_selectors(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    pools = context.state.pools
    for index, pool in enumerate(pools):
        manifest = context.manifest_of("GPUNodePool", pool.metadata.name, pool.metadata.namespace or "")
        if manifest is None:
            continue
        where = manifest.position("/spec/nodeSelector")
        for earlier in pools[:index]:
            finding = _compare(earlier, pool, context)
            if finding is not None:
                rule, message, severity = finding
                found.append(Diagnostic(where, severity, f"{manifest.ref}: {message}", rule))
                break
    return found


def _compare(earlier: GPUNodePool, pool: GPUNodePool, context: Context) -> tuple[str, str, Severity] | None:
    other = context.manifest_of("GPUNodePool", earlier.metadata.name, earlier.metadata.namespace or "")
    place = f" ({other.position('/spec/nodeSelector')})" if other else ""
    if earlier.spec.node_selector.canonical() == pool.spec.node_selector.canonical():
        return (
            RULE_DUPLICATE,
            f"selects the same nodes as GPUNodePool {earlier.metadata.name}{place}; "
            "a node can carry only one pool's configuration",
            Severity.ERROR,
        )
    witness = overlap_witness(earlier.spec.node_selector, pool.spec.node_selector)
    if witness is not None:
        return (
            RULE_OVERLAP,
            f"a node labelled {witness} would match both this pool and GPUNodePool "
            f"{earlier.metadata.name}{place}; make the selectors exclusive",
            Severity.WARNING,
        )
    return None

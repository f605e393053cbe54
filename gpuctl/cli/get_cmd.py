"""`gpuctl get`: the live state at a glance, read from the cluster (`reconciler.live_view`):
the last reconcile gpuctl recorded there, each pool's nodes with their MIG state and rollout
phase, and every managed object with its health. `gpuctl status` without an audit database
shows the same record (`print_record`).

Exit codes, as `kubectl get`: 0 shown; 1 gpuctl never reconciled this cluster (no inventory
ConfigMap in its namespace: the message says so on stderr, nothing on stdout); 2 error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli.cluster_options import ContextOption, KubeconfigOption, SandboxOption, connect, fail, load
from gpuctl.cli.output import Output, OutputOption, dump

if TYPE_CHECKING:
    from reconciler.last_reconcile import LastReconcile
    from reconciler.live_view import LiveState

EXIT_NOT_FOUND = 1
DEFAULT_NAMESPACE = "gpuctl-system"

NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", help=f"gpuctl's namespace (its inventory) [default: {DEFAULT_NAMESPACE}]"),
]


def get(
    *,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="desired-state repository: its pools and namespace")
    ] = None,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """Pools with their nodes' MIG state and rollout phase, every managed object with its
    health, and the last reconcile (revision, when, result, by whom), read from the cluster.

    Exit 0 shown, 1 gpuctl never reconciled this cluster, 2 error.

    Example: gpuctl get --kubeconfig ~/.kube/config -o json
    """
    from reconciler.errors import ReconcileError
    from reconciler.live_view import live_state

    state = load(repo) if repo is not None else None
    ns = namespace or (state.settings.namespace if state else DEFAULT_NAMESPACE)
    client = connect(kubeconfig, context, sandbox)
    try:
        live = live_state(client, ns, state.pools if state else None)
    except ReconcileError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if not live.reconciled:
        typer.echo(never_reconciled(ns), err=True)
        raise typer.Exit(EXIT_NOT_FOUND)
    if output != "text":
        typer.echo(dump(live.as_dict(), output))
        return
    _print_text(live)


def never_reconciled(namespace: str) -> str:
    return (
        f"gpuctl has not reconciled this cluster: no ConfigMap {namespace}/gpuctl-inventory "
        "(run gpuctl apply PATH or the daemon; --namespace names another installation)"
    )


def record_lines(record: LastReconcile | None) -> list[str]:
    """The last reconcile as `gpuctl get` and `gpuctl status` print it."""
    if record is None:
        return ["Last reconcile: none recorded in the cluster yet"]
    who = ", ".join(p for p in (
        f"author {record.author}" if record.author else "",
        f"kube user {record.kube_user}" if record.kube_user else "",
        f"OS user {record.os_user}" if record.os_user else "",
    ) if p) or "the daemon"  # fmt: skip
    counts = ", ".join(f"{n} {action}" for action, n in record.counts.items()) or "no changes"
    lines = [
        f"Last reconcile: rev {record.revision[:12]} → {record.result} at {record.at} ({record.trigger})",
        f"  by:      {who}",
        f"  changes: {counts}",
    ]
    if record.message:
        lines.insert(1, f'  commit:  "{record.message}"')
    if record.error:
        lines.append(f"  error:   {record.error}")
    return lines


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _print_text(live: LiveState) -> None:
    lines = record_lines(live.record)
    if live.pools:
        header = ("POOL", "NODE", "MIG CONFIG", "MIG STATE", "PHASE", "HEALTH", "ADVERTISES")
        rows: list[tuple[str, ...]] = [header]
        for pool in live.pools:
            for node in pool.nodes:
                items = node.advertises.items()
                advertised = " ".join(f"{k.removeprefix('nvidia.com/')}={v}" for k, v in items)
                phase = node.phase + (" (paused)" if node.paused else "")
                rows.append((pool.name, node.name, node.mig_config or "-", node.mig_state or "-", phase,
                             node.health.code.name.capitalize(), advertised or "-"))  # fmt: skip
            if not pool.nodes:
                rows.append((pool.name, "(no nodes)", "-", "-", "-", "-", "-"))
        lines += ["", *_table(rows)]
    rows = [("KIND", "OBJECT", "HEALTH", "MESSAGE")]
    for item in live.managed:
        ref = str(item.ref).split("/", 1)[1]
        rows.append((item.ref.kind, ref, item.health.code.name.capitalize(), item.health.message))
    counts = ", ".join(f"{n} {status}" for status, n in live.counts().items())
    lines += ["", *_table(rows), "", f"{len(live.managed)} managed objects: {counts or 'none'}"]
    typer.echo("\n".join(lines))


def cluster_status(
    namespace: str | None, kubeconfig: Path | None, context: str | None, sandbox: str | None, output: Output
) -> None:
    """`gpuctl status` without an audit database: the record in the cluster."""
    from reconciler.apply.inventory_store import InventoryStore
    from reconciler.errors import ReconcileError
    from reconciler.last_reconcile import record_of

    ns = namespace or DEFAULT_NAMESPACE
    client = connect(kubeconfig, context, sandbox)
    try:
        store = InventoryStore(client, ns)
        store.load()
        found = client.get("v1", "ConfigMap", store.ref.name, ns) is not None
        record = record_of(store.record_text)
    except ReconcileError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if not found:
        typer.echo(never_reconciled(ns), err=True)
        raise typer.Exit(EXIT_NOT_FOUND)
    if output != "text":
        typer.echo(dump({"namespace": ns, "lastReconcile": record.as_dict() if record else None}, output))
        return
    typer.echo("\n".join(record_lines(record)))


def register(app: typer.Typer) -> None:
    app.command("get")(get)

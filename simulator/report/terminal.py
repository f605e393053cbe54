"""The comparison's summary as a rich table on the terminal, with the warnings and gate."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from simulator.compare.comparison import Comparison
from simulator.compare.metrics import METRICS
from simulator.gate import Verdict
from simulator.report.formatting import change, interval, is_worse, value, verdict


def print_summary(comparison: Comparison, verdicts: list[Verdict], console: Console | None = None) -> None:
    console = console or Console()
    inputs = comparison.inputs
    table = Table(title=f"{inputs['base']} → {inputs['head']} · {len(inputs['seeds'])} seeds", box=box.SIMPLE)
    for column in ("figure", "base", "head", "change", "95 % interval", ""):
        # figure names and arrows never wrap; numbers wrap on a narrow terminal
        keep = column in ("figure", "")
        table.add_column(column, justify="left" if keep else "right", no_wrap=keep)
    for name, diff in comparison.metrics.items():
        metric = METRICS[name]
        arrow = verdict(metric, diff)
        style = "red" if is_worse(metric, diff) else "green" if arrow != "≈" else ""
        table.add_row(
            name,
            value(metric, diff.base),
            value(metric, diff.head),
            change(metric, diff),
            interval(metric, diff),
            f"[{style}]{arrow}[/{style}]" if style else arrow,
        )
    console.print(table)
    for warning in comparison.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for error in comparison.errors:
        console.print(f"[red]error:[/red] {error}")
    for v in verdicts:
        mark = "[red]FAIL[/red]" if v.breached else "[green]ok[/green]"
        console.print(f"{mark} --fail-if '{v.rule.text}': {v.change}")

"""`report.md`: a comparison as a pull-request comment. First the verdict, warnings and one
summary table with arrows; the details (per team, per pool, the rollout, standing workloads,
gate rules) follow in collapsed sections."""

from __future__ import annotations

from simulator.compare.comparison import Comparison
from simulator.compare.metrics import METRICS, POOL_METRIC, TEAM_METRICS
from simulator.gate import Verdict
from simulator.report.formatting import change, duration, interval, value, verdict

PLOT_FILES = {
    "allocation.png": "GPU allocation over time",
    "queue_wait_cdf.png": "queue-wait distribution per team",
    "fragmentation.png": "fragmentation over time",
}


def _seeds(seeds: list[int]) -> str:
    if not seeds:
        return "no seeds"
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({seeds[0]}–{seeds[-1]})"


def _summary_table(comparison: Comparison) -> list[str]:
    lines = ["| figure | base | head | change | 95 % interval | |", "|---|--:|--:|--:|--:|:--|"]
    for name, diff in comparison.metrics.items():
        metric = METRICS[name]
        lines.append(
            f"| {name} | {value(metric, diff.base)} | {value(metric, diff.head)} | "
            f"{change(metric, diff)} | {interval(metric, diff)} | {verdict(metric, diff)} |"
        )
    return lines


def _team_table(comparison: Comparison) -> list[str]:
    names = list(TEAM_METRICS)
    lines = ["| team | " + " | ".join(names) + " |", "|---|" + "--:|" * len(names)]
    for team, figures in comparison.teams.items():
        cells = []
        for name in names:
            metric, diff = TEAM_METRICS[name], figures[name]
            arrow = verdict(metric, diff)
            cells.append(
                f"{value(metric, diff.base)} → {value(metric, diff.head)}"
                + ("" if arrow == "≈" else f" {arrow}")
            )
        lines.append(f"| {team} | " + " | ".join(cells) + " |")
    return lines


def _pool_table(comparison: Comparison) -> list[str]:
    lines = ["| pool | base | head | change | 95 % interval | |", "|---|--:|--:|--:|--:|:--|"]
    for pool, diff in comparison.pools.items():
        lines.append(
            f"| {pool} | {value(POOL_METRIC, diff.base)} | {value(POOL_METRIC, diff.head)} | "
            f"{change(POOL_METRIC, diff)} | {interval(POOL_METRIC, diff)} | {verdict(POOL_METRIC, diff)} |"
        )
    return lines


def _rollout(comparison: Comparison) -> list[str]:
    if not comparison.rollout:
        return ["No pool needs draining: the change is applied without a node rollout."]
    lines = [
        "Drained nodes are out of service from the start until their batch is drained and "
        "reconfigured (pessimistic: timeouts are used as durations).",
        "",
        "| pool | what changes | nodes | batches × size | per batch | until |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for r in comparison.rollout:
        lines.append(
            f"| {r.pool} | {'; '.join(r.reasons)} | {r.nodes} | {r.batches} × {r.batch_size} | "
            f"{duration(r.step_s)} | {duration(r.duration_s)} |"
        )
    return lines


def _standing(comparison: Comparison) -> list[str]:
    """One line per standing workload, saying on which side(s) it is declared."""
    base = {w.source: w for w in comparison.standing.get("base", [])}
    head = {w.source: w for w in comparison.standing.get("head", [])}
    lines = []
    for source in [*base, *(s for s in head if s not in base)]:
        ours, theirs = base.get(source), head.get(source)
        sides = [("base and head", ours)] if ours == theirs else [("base", ours), ("head", theirs)]
        for side, w in sides:
            if w is not None:
                what = f"{w.pods} pod(s) × {w.gpus} {w.resource}"
                lines.append(f"- {side}: `{w.source}` (team {w.team}): {what}")
    return lines or ["None declared."]


def _details(title: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{title}</summary>", "", *body, "", "</details>", ""]


def render_markdown(comparison: Comparison, verdicts: list[Verdict] | None = None) -> str:
    """The whole report as Markdown."""
    inputs = comparison.inputs
    breached = [v for v in verdicts or [] if v.breached]
    lines = [f"## Capacity simulation: `{inputs['base']}` → `{inputs['head']}`", ""]
    lines.append(
        f"Workload `{inputs['workload']}` over {duration(inputs['horizon_s'])}, {_seeds(inputs['seeds'])}, "
        f"placement `{inputs['policy']}`, queues `{inputs['queue']}`. A change is significant (arrow) when "
        "its 95 % interval over the seeds excludes zero; both sides ran the same jobs with the same seeds."
    )
    lines.append("")
    if verdicts:
        if breached:
            lines += [f"**Gate failed**: {len(breached)} rule(s) breached.", ""]
            lines += [f"- ❌ `{v.rule.text}`: {v.change}" for v in breached] + [""]
        else:
            lines += [f"**Gate passed** ({len(verdicts)} rule(s)).", ""]
    if comparison.errors:
        lines += ["**Runs failed:**", ""] + [f"- {e}" for e in comparison.errors] + [""]
    if comparison.warnings:
        lines += [f"> ⚠️ {w}" for w in comparison.warnings] + [""]
    lines += [*_summary_table(comparison), ""]
    lines += _details("Per team", _team_table(comparison))
    lines += _details("Per pool (GPU allocation)", _pool_table(comparison))
    lines += _details("Rollout cost", _rollout(comparison))
    lines += _details("Standing workloads (hold their GPUs for the whole horizon)", _standing(comparison))
    if verdicts:
        body = [f"- {'❌' if v.breached else '✅'} `{v.rule.text}`: {v.change}" for v in verdicts]
        lines += _details("Gate rules", body)
    lines += ["Plots: " + ", ".join(f"`{name}` ({what})" for name, what in PLOT_FILES.items()), ""]
    return "\n".join(lines)

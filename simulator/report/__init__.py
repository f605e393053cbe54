"""Reports of a base-vs-head comparison: `report.md` (a pull-request comment), `report.json`
(schema `gpuctl.dev/simulate-compare/v1`, docs/simulate-compare.md), PNG plots, and the
summary table for the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.compare.comparison import Comparison
from simulator.gate import Verdict
from simulator.report.markdown import render_markdown


def write_report(comparison: Comparison, out: Path, verdicts: list[Verdict] | None = None) -> list[Path]:
    """Write report.md, report.json and the PNG plots into `out` (created); returns the paths."""
    from simulator.report.plots import write_plots  # matplotlib only when plots are written

    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "report.md"
    markdown.write_text(render_markdown(comparison, verdicts), encoding="utf-8")
    data = comparison.to_dict()
    data["gate"] = [{"rule": v.rule.text, "breached": v.breached, "change": v.change} for v in verdicts or []]
    report_json = out / "report.json"
    report_json.write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [markdown, report_json, *write_plots(comparison, out)]


__all__ = ["render_markdown", "write_report"]

"""The per-cluster pre-merge comparison on a kustomize repository: `gpuctl simulate --repo R
--base main --head proposal --path clusters/<name>` builds that cluster's overlay on both
revisions, so a change made only in staging's overlay shows for staging and not for prod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from tests.reconciler.source.kustomize_support import example_repo, git

pytestmark = [pytest.mark.usefixtures("kustomize_tool"), pytest.mark.slow]

FAST = ["--horizon", "6h", "--seeds", "2", "--backend", "inline"]
STAGING = "clusters/staging/kustomization.yaml"
SLICES = "  - path: h100-small-slices.yaml\n"


@pytest.fixture
def proposal_repo(tmp_path: Path) -> Path:
    """`main`: staging runs the base's MIG layout; `proposal`: staging's overlay tries 1g slices."""
    repo = example_repo(tmp_path / "repo")
    overlay = repo / STAGING
    text = overlay.read_text(encoding="utf-8")
    assert SLICES in text
    overlay.write_text(text.replace(SLICES, ""), encoding="utf-8")
    git(repo, "commit", "-q", "--amend", "-am", "example, staging as prod")
    git(repo, "checkout", "-q", "-b", "proposal")
    overlay.write_text(text, encoding="utf-8")
    git(repo, "commit", "-q", "-am", "staging: try seven 1g.10gb slices per H100")
    return repo


def _simulate(repo: Path, cluster: str, out: Path) -> tuple[int, str]:
    done = CliRunner().invoke(
        app,
        ["simulate", "--repo", str(repo), "--base", "main", "--head", "proposal",
         "--path", f"clusters/{cluster}", *FAST, "--out", str(out)],
    )  # fmt: skip
    return done.exit_code, done.stdout


def test_staging_shows_its_mig_change_and_prod_none(proposal_repo: Path, tmp_path: Path) -> None:
    """Staging's comparison names the MIG layout change and its rollout; prod's reports no change."""
    code, out = _simulate(proposal_repo, "staging", tmp_path / "staging")
    assert code == 0, out
    assert "h100-inference: mig.config all-balanced → all-1g.10gb" in out
    staging = json.loads((tmp_path / "staging" / "report.json").read_text(encoding="utf-8"))
    assert [r["pool"] for r in staging["rollout"]] == ["h100-inference"]
    code, out = _simulate(proposal_repo, "prod", tmp_path / "prod")
    assert code == 0, out
    assert "GPU layout: no change" in out
    prod = json.loads((tmp_path / "prod" / "report.json").read_text(encoding="utf-8"))
    assert prod["rollout"] == []
    assert all(not m["significant"] for m in prod["metrics"].values())

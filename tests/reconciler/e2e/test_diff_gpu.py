"""`gpuctl diff` of a MIG change against the sandbox: the layout change in words, what each
node will advertise before → after and the rollout plan, in text and in JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from tests.reconciler.e2e.engine_kit import REPO, example_state, running

pytestmark = pytest.mark.slow


def test_mig_change_is_described_in_gpu_terms(tmp_path: Path) -> None:
    """all-balanced → inference-small: per-GPU instances, advertised counts, batches and time."""
    changed = tmp_path / "repo"
    shutil.copytree(REPO, changed)
    pool = changed / "pools" / "h100-inference.yaml"
    pool.write_text(pool.read_text().replace("config: all-balanced", "config: inference-small"))
    with running(example_state()) as (sb, _):
        kubeconfig = str(sb.kubeconfig_path)
        runner = CliRunner()
        assert runner.invoke(app, ["apply", str(REPO), "--sandbox", kubeconfig,
                                   "--audit-db", str(tmp_path / "a.db")]).exit_code == 0  # fmt: skip
        same = runner.invoke(app, ["diff", str(REPO), "--sandbox", kubeconfig])
        assert same.exit_code == 0 and same.stdout.strip() == "No changes."
        text = runner.invoke(app, ["diff", str(changed), "--sandbox", kubeconfig])
        assert text.exit_code == 1
        assert "MIG layout: all-balanced → inference-small" in text.stdout
        assert "per GPU: 1×3g.40gb + 1×2g.20gb + 2×1g.10gb → 7×1g.10gb" in text.stdout
        assert "nvidia.com/mig-3g.40gb  8 → 0" in text.stdout
        assert "nvidia.com/mig-1g.10gb  16 → 56" in text.stdout
        assert "in 4 batches of at most 1 (maxUnavailable), at most 1h40m" in text.stdout
        result = runner.invoke(app, ["diff", str(changed), "--sandbox", kubeconfig, "--format", "json"])
        [gpu] = json.loads(result.stdout)["gpu"]
        assert gpu["mig"] == {"before": "all-balanced", "after": "inference-small"}
        assert gpu["advertisedPerNode"]["nvidia.com/mig-2g.20gb"] == {"before": 8, "after": 0}
        assert gpu["rollout"]["batches"] == 4 and gpu["rollout"]["maxSeconds"] == 4 * (600 + 900)

"""Credentials never leave gpuctl in clear: a repository holding credential-looking values
(a ConfigMap's `db_password` and `apiToken`, a container's `API_TOKEN` env var) is diffed,
applied, changed and applied again, by the CLI and by the daemon; every output is grepped
for the values: diff (text, JSON), apply reports, audit log/export/status and the audit
database file, structured logs, Kubernetes Events and the daemon's /status and /metrics."""

from __future__ import annotations

import http.client
import re
import shutil
from pathlib import Path

import git
import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

import sandbox
from gpuctl.assembly import assemble
from gpuctl.cli import app
from reconciler.daemon.settings import load_settings
from tests.daemon.gitrepos import AUTHOR
from tests.daemon.test_daemon import wait_until
from tests.hostile.corpus import EXAMPLE
from tests.reconciler.e2e.engine_kit import example_state

pytestmark = pytest.mark.slow
SENTINEL = re.compile(r"SENTINEL-[a-z]+-\d")

CREDENTIALS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: team-research}
data:
  db_password: SENTINEL-pw-{n}
  apiToken: SENTINEL-tok-{n}
  endpoint: db.internal:5432
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: team-research}
spec:
  replicas: 0
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
        - name: worker
          image: registry.example.invalid/worker:1
          env:
            - {name: API_TOKEN, value: SENTINEL-env-{n}}
            - {name: LOG_LEVEL, value: info}
"""


def write_credentials(repo: Path, n: int) -> None:
    (repo / "team-research-app.yaml").write_text(CREDENTIALS.replace("{n}", str(n)))


def gpuctl(*args: str) -> str:
    return CliRunner().invoke(app, list(args)).output


def leaks(text: str) -> list[str]:
    return SENTINEL.findall(text)


def test_cli_outputs_and_audit_log_hold_no_credentials(tmp_path: Path) -> None:
    """diff, apply, audit log/export/status, the audit database and the logs of two passes
    (create, then change the credentials) contain none of the credential values."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    write_credentials(repo, 1)
    db = str(tmp_path / "audit.db")
    outputs: dict[str, str] = {}
    with sandbox.start(sandbox.SandboxSpec.from_state(example_state())) as sb, capture_logs() as logs:
        kubeconfig = str(sb.kubeconfig_path)
        for n in (1, 2):
            write_credentials(repo, n)
            outputs[f"diff{n}"] = gpuctl("diff", str(repo), "--sandbox", kubeconfig)
            outputs[f"diff{n}.json"] = gpuctl("diff", str(repo), "--sandbox", kubeconfig, "--format", "json")
            outputs[f"apply{n}"] = gpuctl("apply", str(repo), "--sandbox", kubeconfig, "--audit-db", db)
            action = "created" if n == 1 else "configured"
            assert f"ConfigMap/team-research/app-config {action}" in outputs[f"apply{n}"]
    assert "# redacted values changed" in outputs["diff2"] and "<redacted>" in outputs["diff2.json"]
    outputs["audit log"] = gpuctl("audit", "log", "--db", db, "--format", "json")
    outputs["audit export"] = gpuctl("audit", "export", "--db", db, "--jsonl")
    outputs["status"] = gpuctl("status", "--db", db)
    outputs["logs"] = repr(logs)
    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}
    assert b"SENTINEL" not in Path(db).read_bytes()


def test_daemon_events_logs_and_endpoints_hold_no_credentials(tmp_path: Path) -> None:
    """The daemon applying and then changing the credentials posts Events, logs and serves
    /status and /metrics without any of the values."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root)
    write_credentials(root, 1)
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.index.commit("with credentials", author=AUTHOR, committer=AUTHOR)
    settings = load_settings({
        "repo": str(root), "sandbox": True, "listen": "127.0.0.1:0", "audit_db": str(tmp_path / "a.db"),
        "resync_interval": "1h", "leader_elect": False,
    })
    with capture_logs() as logs, assemble(settings) as assembled:
        daemon = assembled.daemon
        daemon.start()
        assert wait_until(lambda: (daemon.status.snapshot()["last"] or {}).get("result") == "succeeded", 90)
        write_credentials(root, 2)
        repo.git.add("-A")
        sha = repo.index.commit("rotate credentials", author=AUTHOR, committer=AUTHOR).hexsha
        assert wait_until(lambda: (daemon.status.snapshot()["last"] or {}).get("revision") == sha, 60)
        config = assembled.client.get("v1", "ConfigMap", "app-config", "team-research")
        assert config is not None and config["data"]["db_password"] == "SENTINEL-pw-2"  # applied for real
        assert wait_until(lambda: any(e.get("reason") == "Configured" for e in events(assembled)), 10)
        served = {path: fetch(daemon.http.port, path) for path in ("/status", "/metrics")}
        outputs = {"events": repr(events(assembled)), "logs": repr(logs), **served}
    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}
    assert b"SENTINEL" not in (tmp_path / "a.db").read_bytes()


def events(assembled) -> list[dict]:
    return assembled.client.list_objects("v1", "Event")


def fetch(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()

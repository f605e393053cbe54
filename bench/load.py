"""Load benchmark of the daemon: a repository of N objects, then a burst of C commits in S
seconds while `gpuctl run` (a real process) follows it against the sandbox.

    python -m bench.load [--objects 10000] [--commits 100] [--seconds 10]

Each commit of the burst adds one ConfigMap (`burst-<i>`) and rewrites a shared one
(`burst-counter`, data `commit: <i>`). Figures printed:
- the first reconcile of the N objects (wall time);
- reconciles run for the burst (coalescing: far fewer than C), and the time from the last
  commit until the head is applied;
- nothing lost: every `burst-<i>` exists, `burst-counter` holds the last commit's value, and
  the audit log has one `created` entry per burst ConfigMap;
- peak RSS of the daemon process (VmHWM from /proc), and its RSS after the burst.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import git
import yaml

import sandbox
from bench.reconcile import write_repository
from reconciler.audit.query import AuditReader
from reconciler.audit.schema import CHANGE

ROOT = Path(__file__).resolve().parents[1]
AUTHOR = git.Actor("gpuctl bench", "bench@example.invalid")
NAMESPACE = "team-00"


def burst_file(upto: int) -> str:
    """The burst file after commit `upto`: ConfigMaps burst-0..upto and the counter."""
    names = [(f"burst-{i:03d}", i) for i in range(upto + 1)] + [("burst-counter", upto)]
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE},
         "data": {"commit": str(commit)}}
        for name, commit in names
    ])


def _status(port: int) -> dict[str, Any] | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/status")
        body = conn.getresponse().read()
        conn.close()
        status: dict[str, Any] = json.loads(body)
        return status
    except (OSError, ValueError):
        return None


def _wait_applied(port: int, revision: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = _status(port)
        last = (status or {}).get("last") or {}
        if last.get("revision") == revision and last.get("result") in ("succeeded", "noop"):
            return True
        time.sleep(0.1)
    return False


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(objects: int, commits: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, sandbox.start() as sb:
        tmp = Path(tmp_name)
        repo_dir = write_repository(tmp / "repo", objects - 1)  # + the burst counter
        (repo_dir / "burst.yaml").write_text(burst_file(-1))
        repo = git.Repo.init(repo_dir, initial_branch="main")
        repo.git.add("-A")
        head = repo.index.commit("initial", author=AUTHOR, committer=AUTHOR).hexsha
        port, audit_db = _free_port(), tmp / "audit.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
        command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(repo_dir),
                   "--kubeconfig", str(sb.kubeconfig_path), "--listen", f"127.0.0.1:{port}",
                   "--audit-db", str(audit_db), "--no-leader-elect", "--log-format", "json",
                   "--resync-interval", "1h"]  # fmt: skip
        with (tmp / "daemon.log").open("w") as log:
            daemon = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                _measure(sb, repo, repo_dir, daemon.pid, port, audit_db, head, commits, seconds)
            finally:
                daemon.terminate()
                daemon.wait(60)


def _measure(sb: Any, repo: git.Repo, repo_dir: Path, pid: int, port: int, audit_db: Path, head: str,
             commits: int, seconds: float) -> None:
    start = time.perf_counter()
    if not _wait_applied(port, head, 600):
        raise SystemExit("the first reconcile did not finish within 600 s")
    first_s = time.perf_counter() - start
    with AuditReader(audit_db) as reader:
        before = len(reader.reconciles(100_000))
    burst_start = time.perf_counter()
    peak_during = 0
    for i in range(commits):
        (repo_dir / "burst.yaml").write_text(burst_file(i))
        repo.index.add(["burst.yaml"])
        head = repo.index.commit(f"burst {i}", author=AUTHOR, committer=AUTHOR).hexsha
        peak_during = max(peak_during, _memory_kb(pid, "VmRSS"))
        time.sleep(max(0.0, burst_start + (i + 1) * seconds / commits - time.perf_counter()))
    burst_s = time.perf_counter() - burst_start
    last_commit = time.perf_counter()
    if not _wait_applied(port, head, 600):
        raise SystemExit("the burst's head was not applied within 600 s")
    settle_s = time.perf_counter() - last_commit
    hwm_kb, rss_kb = _memory_kb(pid, "VmHWM"), _memory_kb(pid, "VmRSS")
    with AuditReader(audit_db) as reader:
        burst_passes = len(reader.reconciles(100_000)) - before
        created = Counter(e.content["object"] for e in reader.entries()
                          if e.content.get("type") == CHANGE and e.content.get("action") == "created")
    missing = [i for i in range(commits)
               if sb.store.get(("", "configmaps"), (NAMESPACE, f"burst-{i:03d}")) is None]
    counter = sb.store.get(("", "configmaps"), (NAMESPACE, "burst-counter"))
    once = all(created[f"ConfigMap/{NAMESPACE}/burst-{i:03d}"] == 1 for i in range(commits))
    objects = sum(1 for _ in sb.store.all_items())
    print(f"load: first reconcile of the repository: {first_s:.1f} s ({objects} objects in the sandbox)")
    ratio = commits / max(1, burst_passes)
    print(f"load: {commits} commits in {burst_s:.1f} s -> {burst_passes} reconciles (coalesced "
          f"{ratio:.1f}:1); head applied {settle_s:.1f} s after the last commit")
    print(f"load: nothing lost: {commits - len(missing)}/{commits} burst ConfigMaps present, "
          f"counter at commit {(counter or {}).get('data', {}).get('commit')} (expected {commits - 1}), "
          f"one audit entry each: {once}")
    print(f"load: daemon peak RSS {hwm_kb / 1024:.0f} MB (sampled during the burst up to "
          f"{peak_during / 1024:.0f} MB, after it {rss_kb / 1024:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    run(args.objects, args.commits, args.seconds)


if __name__ == "__main__":
    main()

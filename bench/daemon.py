"""Daemon latency and footprint benchmarks against the sandbox, or a real API server.

    python -m bench.daemon [--commits 20] [--webhooks 20] [--drifts 20] [--idle-seconds 30]
                           [--only commit|webhook|drift|idle ...] [--backend sandbox|real|both]

Figures printed (targets from the daemon issue):
- commit: commit to a local repository → first write request at the API server
  (target: median under 0.5 s, p95 under 1 s over 20 commits);
- webhook: push to a remote (a local bare repository) + signed GitHub webhook → first write
  (target: p95 under 1.5 s);
- drift: someone else's edit of a managed object → gpuctl's correcting write (target: p95 under 2 s);
- idle: CPU share and RSS of a `gpuctl run` process with nothing to do, leader election on
  (target: under 1% of one core, under 150 MB).

The first three run the daemon in this process, next to the sandbox, and count the sandbox's
write requests (leader election off, so no Lease renewals are counted; Events are posted after
the write measured). Each change edits the `pods` cap of ResourceQuota team-research/gpu-cap.

`--backend real` runs commit, webhook and drift against a fresh real control plane
(`KUBEBUILDER_ASSETS`) with the operators' CRDs and the example pools' GPU nodes
(`sandbox.remote.GpuNodes`, heartbeating); there writes are counted when gpuctl's client
sends them (the server's own counters include every kubelet heartbeat). `both` prints each
figure for the sandbox and then the real server; idle runs on the sandbox only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import git
from kubernetes import client as k8s

import sandbox
from bench.backends import ClientWrites, WriteCounter, chosen, cluster_for
from reconciler.cluster import ConnectionSpec
from reconciler.cluster.connection import api_client_for
from reconciler.daemon.assembly import Assembled, assemble
from reconciler.daemon.settings import load_settings
from reconciler.daemon.webhooks import sign
from reconciler.source import load_directory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "desired_state"
QUOTA = "quotas/resource-quotas.yaml"
AUTHOR = git.Actor("gpuctl bench", "bench@example.invalid")
SECRET = "bench-secret"


def example_repo(path: Path) -> git.Repo:
    shutil.copytree(EXAMPLE, path)
    files = [str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()]
    repo = git.Repo.init(path, initial_branch="main")
    repo.index.add(files)
    repo.index.commit("example desired state", author=AUTHOR, committer=AUTHOR)
    return repo


def commit_pods_cap(repo: git.Repo, pods: int) -> str:
    path = Path(repo.working_tree_dir or ".") / QUOTA
    text = path.read_text()
    start = text.index('pods: "') + len('pods: "')
    path.write_text(text[:start] + str(pods) + text[text.index('"', start):])
    repo.index.add([QUOTA])
    return repo.index.commit(f"pods cap {pods}", author=AUTHOR, committer=AUTHOR).hexsha


def wait_for_write(cluster: WriteCounter, after: int, timeout_s: float = 30.0) -> float:
    """Monotonic time at which the sandbox's write count first exceeds `after`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cluster.write_count > after:
            return time.monotonic()
        time.sleep(0.001)
    raise TimeoutError("no write reached the API server")


def wait_idle(assembled: Assembled, revision: str | None = None, timeout_s: float = 60.0) -> None:
    """Until the daemon has finished a pass (of `revision`, if given) and nothing waits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        last = assembled.daemon.status.snapshot()["last"]
        if last is not None and (revision is None or last["revision"] == revision) \
                and assembled.daemon.queue.waiting() is None:
            time.sleep(0.3)  # let Events and drift echoes of the pass settle
            return
        time.sleep(0.01)
    raise TimeoutError("the daemon did not finish its pass")


def summary(name: str, samples: list[float], targets: str) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"{name}: n={len(samples)} median {statistics.median(samples) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms ({targets})")


@contextmanager
def daemon_on(
    work: Path, repo_arg: str, backend: str = "sandbox", **extra: object
) -> Iterator[tuple[WriteCounter, Assembled]]:
    state = load_directory(EXAMPLE).state
    with cluster_for(backend, state, work) as cluster:
        settings = load_settings({
            "repo": repo_arg, "kubeconfig": str(cluster.kubeconfig_path), "listen": "127.0.0.1:0",
            "audit_db": str(work / "audit.db"), "cache_dir": str(work / "cache"), "leader_elect": False,
            "resync_interval": "1h", "poll_interval": "1h", "log_format": "json", **extra,
        })
        with assemble(settings) as assembled:
            counter: WriteCounter = cluster
            if backend == "real":
                counter = ClientWrites(assembled.client, cluster)
            assembled.daemon.start()
            wait_idle(assembled)
            yield counter, assembled


def bench_commit(work: Path, count: int, backend: str = "sandbox") -> None:
    repo = example_repo(work / "repo")
    with daemon_on(work, str(work / "repo"), backend) as (cluster, assembled):
        samples = []
        for n in range(count):
            before = cluster.write_count
            started = time.monotonic()
            sha = commit_pods_cap(repo, 100 + n)
            samples.append(wait_for_write(cluster, before) - started)
            wait_idle(assembled, sha)
    summary(f"[{backend}] commit → first write", samples, "target median < 500 ms, p95 < 1000 ms")


def bench_webhook(work: Path, count: int, backend: str = "sandbox") -> None:
    work_repo = example_repo(work / "work")
    git.Repo.init(work / "remote.git", bare=True, initial_branch="main")
    work_repo.create_remote("origin", str(work / "remote.git"))
    work_repo.git.push("origin", "main")
    url = (work / "remote.git").as_uri()
    with daemon_on(work, url, backend, webhook_secret=SECRET) as (cluster, assembled):
        body = json.dumps({"ref": "refs/heads/main"}).encode()
        samples = []
        for n in range(count):
            sha = commit_pods_cap(work_repo, 200 + n)
            work_repo.git.push("origin", "main")
            before = cluster.write_count
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", assembled.daemon.http.port, timeout=30)
            conn.request("POST", "/webhooks/github", body=body, headers={
                "X-Hub-Signature-256": sign(SECRET.encode(), body), "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"bench-{n}"})
            if conn.getresponse().status != 202:
                raise RuntimeError("webhook refused")
            conn.close()
            samples.append(wait_for_write(cluster, before) - started)
            wait_idle(assembled, sha)
    summary(f"[{backend}] webhook → first write", samples, "target p95 < 1500 ms")


def bench_drift(work: Path, count: int, backend: str = "sandbox") -> None:
    example_repo(work / "repo")
    with daemon_on(work, str(work / "repo"), backend) as (cluster, assembled):
        api = api_client_for(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
        core = k8s.CoreV1Api(api)
        time.sleep(1.0)  # the drift watches start after the first pass
        samples = []
        for n in range(count):
            started = time.monotonic()
            core.patch_namespaced_resource_quota(
                "gpu-cap", "team-research", {"spec": {"hard": {"pods": str(900 + n)}}},
                field_manager="kubectl-edit")
            after_edit = cluster.write_count
            samples.append(wait_for_write(cluster, after_edit) - started)
            wait_idle(assembled)
        api.close()
    summary(f"[{backend}] drift → correction write", samples, "target p95 < 2000 ms")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bench_idle(work: Path, seconds: float) -> None:
    example_repo(work / "repo")
    state = load_directory(EXAMPLE).state
    with sandbox.start(sandbox.SandboxSpec.from_state(state) if state else None) as cluster:
        cluster.api.ensure_namespaces(["gpuctl-system"])
        port = 18000 + os.getpid() % 1000
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpuctl", "run", "--repo", str(work / "repo"),
             "--kubeconfig", str(cluster.kubeconfig_path), "--listen", f"127.0.0.1:{port}",
             "--audit-db", str(work / "audit.db"), "--log-format", "json"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_first_pass(port)
            time.sleep(2.0)
            cpu_before, wall_before = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu = _cpu_seconds(proc.pid) - cpu_before
            share = cpu / (time.monotonic() - wall_before)
            rss = _rss_mb(proc.pid)
            print(f"idle: CPU {share * 100:.2f}% of one core over {seconds:.0f} s, RSS {rss:.0f} MB "
                  "(target < 1% and < 150 MB)")
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def _wait_first_pass(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/status")
            if json.loads(conn.getresponse().read())["last"] is not None:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError("gpuctl run did not finish its first pass")


BENCHES: dict[str, Callable[[Path, argparse.Namespace, str], None]] = {
    "commit": lambda work, args, backend: bench_commit(work, args.commits, backend),
    "webhook": lambda work, args, backend: bench_webhook(work, args.webhooks, backend),
    "drift": lambda work, args, backend: bench_drift(work, args.drifts, backend),
    "idle": lambda work, args, backend: bench_idle(work, args.idle_seconds),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon", description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--webhooks", type=int, default=20)
    parser.add_argument("--drifts", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=sorted(BENCHES))
    parser.add_argument("--backend", choices=["sandbox", "real", "both"], default="sandbox")
    args = parser.parse_args(argv)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
    for name in ("commit", "webhook", "drift", "idle"):
        if name not in args.only:
            continue
        for backend in chosen(args.backend) if name != "idle" else ("sandbox",):
            with tempfile.TemporaryDirectory(prefix=f"gpuctl-bench-{name}-") as work:
                BENCHES[name](Path(work), args, backend)


if __name__ == "__main__":
    main()

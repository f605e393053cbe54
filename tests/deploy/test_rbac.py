"""Least privilege: the API calls gpuctl makes while it runs — first apply, drift watches,
Events, leader election and a MIG rollout with evictions — against the sandbox, compared
with deploy/base's ClusterRoles and Role: every call is allowed, and every granted verb is used
(`create` of server-side applied kinds and `delete` for --prune are checked by the real API
server's authorizer in test_rbac_real.py)."""

import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import git
import pytest
import yaml
from kubernetes import client as k8s

import sandbox
from gpuctl.assembly import assemble
from reconciler.daemon.settings import load_settings
from reconciler.source import load_directory
from schemas.results import ReconcileOutcome
from tests.capture.sandbox_pods import install_workload_crd
from tests.daemon.gitrepos import AUTHOR

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
EXAMPLE = ROOT / "desired_state"
POOL = "pools/h100-inference.yaml"
TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
# Verbs the API server checks during RBAC writes, never sent as requests of their own.
AUTHORIZATION_ONLY = {"bind", "escalate"}
# `delete` is used by --prune only, off in this session.
PRUNE_ONLY = {"delete"}

pytestmark = pytest.mark.slow


def granted() -> set[tuple[str, str, str]]:
    """(group, resource, verb) of every rule of gpuctl's ClusterRole and Role."""
    rules = []
    for name in ("rbac-cluster.yaml", "rbac-namespace.yaml"):
        for doc in yaml.safe_load_all((BASE / name).read_text()):
            if doc["kind"] in ("ClusterRole", "Role"):
                rules += doc["rules"]
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>/.*)?$")


def classify(method: str, url: str) -> tuple[str, str, str] | None:
    """(group, resource[/subresource], verb) of one request; None for discovery."""
    parsed = urlparse(url)
    match = _PATH.match(parsed.path)
    if match is None or not match.group("rest"):
        return None
    group = match.group("group") or ""
    parts = match.group("rest").strip("/").split("/")
    if parts[0] == "namespaces" and len(parts) >= 3:
        parts = parts[2:]
    resource, name, sub = parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None
    if sub:
        resource = f"{resource}/{sub}"
    query = parse_qs(parsed.query)
    verb = {
        "GET": "watch" if query.get("watch", [""])[0].lower() == "true" else ("get" if name else "list"),
        "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
    }[method]
    return group, resource, verb


def test_classify_requests():
    """Request paths map to RBAC group, resource and verb as the API server authorizes them."""
    assert classify("GET", "https://h/api/v1/nodes") == ("", "nodes", "list")
    assert classify("PATCH", "https://h/api/v1/nodes/n1?fieldManager=gpuctl") == ("", "nodes", "patch")
    eviction = "https://h/api/v1/namespaces/a/pods/p/eviction"
    assert classify("POST", eviction) == ("", "pods/eviction", "create")
    watch = "https://h/apis/ray.io/v1/rayclusters?watch=true"
    assert classify("GET", watch) == ("ray.io", "rayclusters", "watch")
    assert classify("GET", "https://h/api/v1/namespaces/ml") == ("", "namespaces", "get")
    assert classify("GET", "https://h/apis") is None


@pytest.fixture
def recorded(monkeypatch):
    calls: list[tuple[str, str]] = []
    lock = threading.Lock()
    original = k8s.ApiClient.call_api

    def call_api(self, method, url, *args, **kwargs):
        with lock:
            calls.append((method, url))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(k8s.ApiClient, "call_api", call_api)
    return calls


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_api_calls_match_the_cluster_role(tmp_path, recorded):
    """Every request of a daemon session is granted by deploy/base, and every grant is used."""
    shutil.copytree(EXAMPLE, tmp_path / "repo")
    files = [str(p.relative_to(tmp_path / "repo")) for p in (tmp_path / "repo").rglob("*") if p.is_file()]
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    repo.index.add(files)
    repo.index.commit("example", author=AUTHOR, committer=AUTHOR)
    state = load_directory(tmp_path / "repo").state
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=200) as cluster:
        settings = load_settings({
            "repo": str(tmp_path / "repo"), "kubeconfig": str(cluster.kubeconfig_path),
            "listen": "127.0.0.1:0", "audit_db": str(tmp_path / "audit.db"), "resync_interval": "1h",
            "lease_duration": "3s", "renew_deadline": "2s", "retry_period": "0.2s",
            "capture": True,  # as deploy/base/settings.yaml
        })
        cluster.api.ensure_namespaces([settings.lease_namespace])
        install_workload_crd(cluster)  # Kueue installed: the capture watches its Workloads
        with assemble(settings) as assembled:
            daemon = assembled.daemon
            daemon.start()
            assert wait_until(daemon.loop.attempted.is_set, 60)
            cluster.launch_gpu_pods("serve", 2, namespace="team-llm", resource="nvidia.com/mig-1g.10gb",
                                    node_selector={"gpuctl.dev/pool": "h100-inference"},
                                    tolerations=TOLERATE_GPU)
            pool = tmp_path / "repo" / POOL
            pool.write_text(pool.read_text().replace("config: all-balanced", "config: inference-small")
                            .replace("maxUnavailable: 1", "maxUnavailable: 4"))
            repo.index.add([POOL])
            sha = repo.index.commit("inference-small layout", author=AUTHOR, committer=AUTHOR).hexsha
            assert wait_until(lambda: (daemon.status.snapshot()["last"] or {}).get("revision") == sha, 120)
            last = daemon.status.snapshot()["last"]
            assert last["result"] == ReconcileOutcome.SUCCEEDED.value, last
            # Watches, lease renewals and the capture start on their own schedule: a loaded
            # machine is slower to reach each, so wait (bounded) until every grant was used.
            wait_until(lambda: not _unused(recorded), 30)
            # Only this sandbox's requests: a background thread left by an earlier test in this
            # worker (a GPU node agent, say) may still talk to its own server.
            recorded[:] = [(m, u) for m, u in list(recorded) if u.startswith(cluster.url)]
    used = {c for c in (classify(m, u) for m, u in recorded) if c is not None}
    allowed = granted()
    assert sorted(used - allowed) == [], sorted(used - allowed)
    unused = _unused(recorded)
    assert sorted(unused) == [], "\n".join(map(str, sorted(unused)))


def _unused(recorded: list[tuple[str, str]]) -> set[tuple[str, str, str]]:
    """The grants of deploy/base that no recorded request used so far."""
    used = {c for c in (classify(m, u) for m, u in list(recorded)) if c is not None}
    # A server-side apply (PATCH) that creates the object is authorized as `create` too.
    ssa_create = {(g, r, "create") for g, r, v in used if v == "patch"}
    checked = {(g, r, v) for g, r, v in granted() if v not in AUTHORIZATION_ONLY | PRUNE_ONLY}
    return checked - used - ssa_create

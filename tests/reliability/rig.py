"""Helpers for the reliability tests: a generated desired-state repository (namespaces,
ConfigMaps, a ResourceQuota and H100 MIG pools) in a real Git repository, a sandbox cluster
built from its pools, and reads of what the cluster and the audit log show afterwards."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
import yaml

import sandbox
from gpuctl.assembly import Assembled, assemble
from reconciler.audit.query import AuditReader
from reconciler.audit.schema import CHANGE
from reconciler.daemon.settings import load_settings
from reconciler.rollout.waiting_taint import KEY as WAITING_TAINT
from reconciler.source import load_directory
from schemas.desired import DesiredState

AUTHOR = git.Actor("Reliability Test", "reliability@example.invalid")
MIG_CONFIG = "nvidia.com/mig.config"
MIG_STATE = "nvidia.com/mig.config.state"


@dataclass
class Pool:
    """One H100 pool of the generated repository."""

    name: str
    nodes: int
    mig: str = "all-balanced"
    max_unavailable: int = 2
    on_failure: str = "halt"

    def document(self) -> dict[str, Any]:
        return {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "GPUNodePool",
            "metadata": {"name": self.name},
            "spec": {
                "nodeSelector": {"matchLabels": {"gpuctl.dev/pool": self.name}},
                "gpu": {"model": "H100-SXM5-80GB", "perNode": 8},
                "nodes": self.nodes,
                "mig": {"config": self.mig, "strategy": "mixed"},
                "rollout": {"maxUnavailable": self.max_unavailable, "onFailure": self.on_failure},
            },
        }


@dataclass
class RepoSpec:
    """What the generated repository holds; change a field and `commit()` to make a revision."""

    pools: list[Pool] = field(default_factory=list)
    configmaps: int = 10
    quota_pods: int = 64
    namespaces: int = 2
    # Starts every namespace's name; when set, gpuctl keeps its inventory in `<prefix>gpuctl`
    # (gpuctl.yaml), so tests sharing a cluster keep apart.
    prefix: str = ""

    @property
    def namespace_names(self) -> list[str]:
        return [f"{self.prefix}team-{i:02d}" for i in range(self.namespaces)]

    @property
    def gpuctl_namespace(self) -> str:
        return f"{self.prefix}gpuctl" if self.prefix else "gpuctl-system"

    def write(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        names = self.namespace_names
        if self.prefix:
            settings = {"apiVersion": "gpuctl.dev/v1alpha1", "kind": "Settings",
                        "namespace": self.gpuctl_namespace}
            (root / "gpuctl.yaml").write_text(yaml.safe_dump(settings))
        docs: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names
        ]
        docs.append({
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "gpu-cap", "namespace": names[0]},
            "spec": {"hard": {"pods": str(self.quota_pods)}},
        })
        for i in range(self.configmaps):
            docs.append({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"settings-{i:05d}", "namespace": names[i % len(names)]},
                "data": {"value": str(i)},
            })
        (root / "objects.yaml").write_text(yaml.safe_dump_all(docs))
        for old in root.glob("pool-*.yaml"):
            old.unlink()
        for pool in self.pools:
            (root / f"pool-{pool.name}.yaml").write_text(yaml.safe_dump(pool.document()))


class GitRepo:
    """A real Git repository holding a `RepoSpec`, one commit per `commit()`."""

    def __init__(self, path: Path, spec: RepoSpec) -> None:
        self.path = path
        self.spec = spec
        spec.write(path)
        self.repo = git.Repo.init(path, initial_branch="main")
        self.commit("initial desired state")

    def commit(self, message: str) -> str:
        self.spec.write(self.path)
        self.repo.git.add("-A")
        return self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha

    def loaded_state(self) -> DesiredState:
        loaded = load_directory(self.path)
        assert loaded.state is not None, [str(e) for e in loaded.errors]
        return loaded.state


def sandbox_for(repo: GitRepo, speed: float) -> sandbox.Sandbox:
    """A sandbox whose nodes are the repository's pools (as they are before any rollout)."""
    return sandbox.start(sandbox.SandboxSpec.from_state(repo.loaded_state()), speed=speed)


def daemon_settings(tmp: Path, repo: Path, kubeconfig: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "repo": str(repo), "kubeconfig": str(kubeconfig), "listen": "127.0.0.1:0",
        "audit_db": str(tmp / "audit.db"), "cache_dir": str(tmp / "cache"),
        "resync_interval": "1h", "leader_elect": False,
        "backoff_base": "0.2s", "backoff_cap": "2s",
    }
    values.update(overrides)
    return load_settings(values)


@contextmanager
def running_daemon(settings: Any) -> Iterator[Assembled]:
    with assemble(settings) as assembled:
        assembled.daemon.start()
        yield assembled


def wait_until(predicate: Callable[[], bool], timeout_s: float = 60.0, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(step_s)
    return False


def pool_nodes(sb: sandbox.Sandbox, pool: str) -> list[dict[str, Any]]:
    """The pool's Nodes, read in-process (not through the faulted HTTP front)."""
    return [
        obj for obj in sb.store.list_objects(("", "nodes"))[0]
        if (obj["metadata"].get("labels") or {}).get("gpuctl.dev/pool") == pool
    ]


def rolled_out(sb: sandbox.Sandbox, pool: str, mig: str) -> bool:
    """Every node of `pool` runs `mig` (MIG manager: success), none cordoned, no rollout left."""
    return all_rolled_out(pool_nodes(sb, pool), mig)


def all_rolled_out(nodes: list[dict[str, Any]], mig: str) -> bool:
    """`nodes` (not none) all run `mig` (MIG manager: success), none cordoned, no rollout left."""
    return bool(nodes) and all(
        n["metadata"]["labels"].get(MIG_CONFIG) == mig
        and n["metadata"]["labels"].get(MIG_STATE) == "success"
        and not (n.get("spec") or {}).get("unschedulable")
        and "gpuctl.dev/rollout-phase" not in (n["metadata"].get("annotations") or {})
        for n in nodes
    )


def audit_changes(audit_db: Path) -> list[dict[str, Any]]:
    """Every change entry of the audit log, oldest first (object, action, reconcile id)."""
    with AuditReader(audit_db) as reader:
        return [e.content for e in reader.entries() if e.content.get("type") == CHANGE]


def change_counts(changes: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((str(c["object"]), str(c["action"])) for c in changes)


RECORD_MESSAGE = "record of the last reconcile"  # reconciler.apply.inventory_store


def repeated_changes(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(object, action) of every change made twice: at most one per object and action, except
    the rollout's waiting taint, added then removed (two writes, each at most once), and the
    record of the last reconcile on the inventory (rewritten whenever a pass's verdict changes,
    as it does when faults fail a pass and the next one succeeds)."""
    changes = [c for c in changes if c.get("message") != RECORD_MESSAGE]
    waiting = [c for c in changes if WAITING_TAINT in str(c.get("message") or "")]
    others = [c for c in changes if WAITING_TAINT not in str(c.get("message") or "")]
    twice = [key for key, n in change_counts(others).items() if n > 1]
    taint = Counter((str(c["object"]), str(c["action"]), str(c["message"])) for c in waiting)
    return twice + [(obj, action) for (obj, action, _), n in taint.items() if n > 1]

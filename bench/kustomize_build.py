"""Build + validate of a kustomize tree, next to the same objects as a plain directory.

A generated repository laid out as Flux and Argo CD users do: `base/` with 1,000 objects (the
multi-cluster example's pools, settings and workload profile, plus 40 teams of namespaces,
quotas, service accounts and `bench.validate_large`'s ConfigMaps, Deployments and Services)
and three overlays (`clusters/prod`, `clusters/staging`, `clusters/dev`), each patching a
pool's MIG layout and the cluster name. Printed: loading one overlay (kustomize build, mapping
back to source positions, validation), `validate --all` over the three, the kustomize build
alone, and loading the same 1,000 objects from a plain directory. Everything is written to a
temporary directory.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.validate_large import _configmap as configmap
from bench.validate_large import _deployment as deployment
from bench.validate_large import _service as service

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "multi-cluster"
TEAMS = 40
WORKLOADS_PER_TEAM = 22  # + 3 basics per team: 40 × 25 = 1,000 objects with the example's
REPEAT = 3
OVERLAYS = {"prod": "all-balanced", "staging": "all-1g.10gb", "dev": "all-1g.10gb"}


def _team(team: str) -> list[str]:
    docs = [
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {team}, labels: {{gpuctl.dev/team: {team}}}}}\n",
        f"apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: gpu, namespace: {team}}}\n"
        "spec: {hard: {requests.nvidia.com/gpu: '8', requests.nvidia.com/mig-1g.10gb: '16'}}\n",
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: runner, namespace: {team}}}\n",
    ]
    kinds = (configmap, deployment, service)
    docs.extend(kinds[i % len(kinds)](team, i) for i in range(WORKLOADS_PER_TEAM))
    return docs


def generate(root: Path) -> int:
    """Write the kustomize tree under `root/tree` and the plain copy under `root/plain`;
    returns the number of objects in the base."""
    tree, plain = root / "tree", root / "plain"
    shutil.copytree(EXAMPLE / "base", tree / "base")
    resources = ["gpuctl.yaml", "namespaces.yaml", "pools.yaml", "quotas.yaml", "workload-profile.yaml"]
    objects = 8  # the example base's own documents
    for t in range(TEAMS):
        team = f"team-b{t:03d}"
        docs = _team(team)
        (tree / "base" / "teams").mkdir(exist_ok=True)
        (tree / "base" / "teams" / f"{team}.yaml").write_text("---\n".join(docs), encoding="utf-8")
        resources.append(f"teams/{team}.yaml")
        objects += len(docs)
    (tree / "base" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {r}\n" for r in resources),
        encoding="utf-8",
    )
    for name, mig in OVERLAYS.items():
        overlay = tree / "clusters" / name
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\n"
            "patches:\n"
            "  - target: {kind: GPUNodePool, name: h100-inference}\n"
            f"    patch: |\n      - {{op: replace, path: /spec/mig/config, value: {mig}}}\n"
            "  - target: {kind: Settings, name: gpuctl}\n"
            f"    patch: |\n      - {{op: replace, path: /clusterName, value: ml-{name}}}\n",
            encoding="utf-8",
        )
    shutil.copytree(tree / "base", plain)
    (plain / "kustomization.yaml").unlink()
    settings = (plain / "gpuctl.yaml").read_text(encoding="utf-8")
    (plain / "gpuctl.yaml").write_text(settings.replace("metadata:\n  name: gpuctl\n", ""), encoding="utf-8")
    return objects


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (kustomize)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _median(action: Callable[[], object]) -> str:
    """Median wall and CPU seconds of REPEAT runs (CPU counts on a shared machine, too)."""
    walls, cpus = [], []
    for _ in range(REPEAT):
        wall, cpu = time.perf_counter(), _cpu()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return f"median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU"


def main() -> None:
    from reconciler.source import LoadResult, load_directory
    from reconciler.source.kustomize_roots import kustomization_roots
    from reconciler.source.kustomize_tool import find_tool
    from reconciler.source.kustomize_tree import DiskTree

    tool = find_tool()
    with tempfile.TemporaryDirectory(prefix="bench-kustomize-") as tmp:
        root = Path(tmp)
        objects = generate(root)
        tree = root / "tree"

        def load_checked(path: Path) -> LoadResult:
            result = load_directory(path)
            if not result.ok:
                raise SystemExit(f"{path} is invalid: {[str(d) for d in result.errors[:3]]}")
            return result

        def validate_all() -> None:
            for found in kustomization_roots(DiskTree(tree)):
                load_checked(tree / found)

        def build_only() -> None:
            subprocess.run([*tool.command, str(tree / "clusters" / "prod")], check=True, capture_output=True)

        built = load_checked(tree / "clusters" / "prod").state
        assert built is not None
        count = len(built.manifests) + len(built.pools) + len(built.workloads) + 1  # + Settings
        overlay = _median(lambda: load_checked(tree / "clusters" / "prod"))
        every = _median(validate_all)
        build = _median(build_only)
        plain = _median(lambda: load_checked(root / "plain"))
    print(f"kustomize tree: base of {objects} objects, 3 overlays ({', '.join(OVERLAYS)}); {tool.label}")
    print(f"one overlay ({count} objects) build + validate: {overlay}")
    print(f"validate --all (3 overlays, {3 * count} objects built): {every}")
    print(f"  of which the kustomize build alone, per overlay: {build}")
    print(f"plain directory, the same {objects} objects: {plain}")


if __name__ == "__main__":
    main()

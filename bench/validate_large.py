"""Validation speed: a generated repository of ~1,000 files / 5,000 documents (target < 3 s
on 2 cores), and `gpuctl validate desired_state` as a subprocess including interpreter
start-up (target < 1 s).

The generated repository is the example's GPU setup (pools, GPU Operator ConfigMaps) plus
100 team namespaces, each with Kueue queues, quotas, RBAC, configs, Deployments, Services,
batch Jobs, RayClusters and PyTorchJobs, written to a temp directory.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "desired_state"
TEAMS = 100
FILES_PER_TEAM = 10  # plus the example's files
DOCS_PER_FILE = 5


def _deployment(team: str, i: int) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: svc-{i}, namespace: {team}, labels: {{app: svc-{i}}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: svc-{i}}}}}
  template:
    metadata: {{labels: {{app: svc-{i}}}}}
    spec:
      priorityClassName: gpu-production
      containers:
        - name: server
          image: registry.example/{team}/svc:{i}
          ports: [{{containerPort: 8080, name: http}}]
          env: [{{name: MODEL, value: m{i}}}, {{name: WORKERS, value: "4"}}]
          resources:
            requests: {{cpu: "2", memory: 8Gi, nvidia.com/mig-1g.10gb: 1}}
            limits: {{cpu: "2", memory: 8Gi, nvidia.com/mig-1g.10gb: 1}}
          readinessProbe: {{httpGet: {{path: /healthz, port: http}}, periodSeconds: 5}}
"""


def _service(team: str, i: int) -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: {team}}}
spec:
  selector: {{app: svc-{i}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def _configmap(team: str, i: int) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg-{i}, namespace: {team}}}
data:
  settings.json: '{{"batch": {i}, "precision": "bf16"}}'
  owner: {team}
"""


def _job(team: str, i: int) -> str:
    return f"""apiVersion: batch/v1
kind: Job
metadata: {{name: eval-{i}, namespace: {team}, labels: {{kueue.x-k8s.io/queue-name: training}}}}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: eval
          image: registry.example/{team}/eval:{i}
          args: ["--shard", "{i}"]
          resources: {{limits: {{nvidia.com/gpu: 1}}}}
"""


def _raycluster(team: str, i: int) -> str:
    return f"""apiVersion: ray.io/v1
kind: RayCluster
metadata: {{name: ray-{i}, namespace: {team}}}
spec:
  headGroupSpec:
    template:
      spec:
        containers: [{{name: head, image: rayproject/ray:2.40.0}}]
  workerGroupSpecs:
    - groupName: gpu
      replicas: 1
      minReplicas: 0
      maxReplicas: 4
      template:
        spec:
          containers:
            - name: worker
              image: rayproject/ray:2.40.0-gpu
              resources: {{limits: {{nvidia.com/mig-3g.40gb: 1}}}}
"""


def _pytorchjob(team: str, i: int) -> str:
    return f"""apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {{name: train-{i}, namespace: {team}}}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers: [{{name: pytorch, image: pytorch:2, resources: {{limits: {{nvidia.com/gpu: 8}}}}}}]
    Worker:
      replicas: 1
      template:
        spec:
          containers: [{{name: pytorch, image: pytorch:2, resources: {{limits: {{nvidia.com/gpu: 8}}}}}}]
"""


def _team_basics(team: str) -> list[str]:
    return [
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {team}, labels: {{gpuctl.dev/team: {team}}}}}\n",
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: runner, namespace: {team}}}\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        f"metadata: {{name: edit, namespace: {team}}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n"
        f"subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: {team}}}]\n",
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue\n"
        f"metadata: {{name: training, namespace: {team}}}\n"
        "spec: {clusterQueue: training}\n",
        f"apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: gpu, namespace: {team}}}\n"
        "spec: {hard: {requests.nvidia.com/gpu: '8', requests.nvidia.com/mig-1g.10gb: '16'}}\n",
    ]


WORKLOAD_KINDS = (_deployment, _service, _configmap, _job, _raycluster, _pytorchjob)


def generate(root: Path) -> int:
    """Write the repository under `root`; returns the number of files."""
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    files = sum(1 for _ in root.rglob("*.yaml"))
    counter = 0
    for t in range(TEAMS):
        team = f"team-{t:03d}"
        folder = root / "teams" / team
        folder.mkdir(parents=True)
        (folder / "basics.yaml").write_text("---\n".join(_team_basics(team)))
        files += 1
        for f in range(FILES_PER_TEAM - 1):
            docs = []
            for _ in range(DOCS_PER_FILE):
                docs.append(WORKLOAD_KINDS[counter % len(WORKLOAD_KINDS)](team, counter))
                counter += 1
            (folder / f"workloads-{f}.yaml").write_text("---\n".join(docs))
            files += 1
    return files


def time_large_repository() -> None:
    from reconciler.source import load_directory

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        files = generate(root)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            result = load_directory(root)
            runs.append(time.perf_counter() - start)
        if result.state is None:
            raise SystemExit(f"generated repository is invalid: {result.diagnostics[:3]}")
        state = result.state
        documents = len(state.manifests) + len(state.pools) + len(state.workloads)
        cli = _median_subprocess([sys.executable, "-m", "gpuctl", "validate", str(root)], repeat=3)
        from_git = _time_git_revision(root)
    print(f"generated repository: {files} files, {documents} documents")
    print(f"load+validate in process: first {runs[0]:.2f} s, best {min(runs):.2f} s (target < 3 s)")
    print(f"gpuctl validate <generated> subprocess incl. start-up: median {cli:.2f} s")
    print(f"load+validate of the same tree from a Git commit (no checkout): {from_git:.2f} s")


def _time_git_revision(root: Path) -> float:
    from reconciler.source import load_revision

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.email=b@x.invalid", "-c", "user.name=b", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "generated")
    start = time.perf_counter()
    result = load_revision(root, "HEAD")
    elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"generated repository is invalid at HEAD: {result.diagnostics[:3]}")
    return elapsed


def _median_subprocess(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    return statistics.median(times)


def main() -> None:
    time_large_repository()
    example = _median_subprocess([sys.executable, "-m", "gpuctl", "validate", "desired_state"], repeat=5)
    print(f"gpuctl validate desired_state subprocess incl. start-up: median {example:.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()

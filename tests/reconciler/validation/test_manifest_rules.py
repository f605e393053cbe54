"""Rules on plain manifests and gpuctl kinds: document basics, identity and scope, Kubernetes
schemas, ML-stack CRDs, Kueue, Secrets, workload profiles. One broken fixture per rule."""

from __future__ import annotations

import pytest

from tests.reconciler.repo_fixtures import RepoLoader, places

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-a
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          imagePullPolicy: IfNotPresent
"""

RAYCLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc, namespace: team-a}
spec:
  headGroupSpec:
    template:
      spec:
        containers: [{name: head, image: ray}]
  workerGroupSpecs:
    - groupName: gpu
      replicas: 1
      minReplicas: 0
      maxReplicas: 4
      template:
        spec:
          containers: [{name: worker, image: ray}]
"""

PYTORCHJOB = """\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: job, namespace: team-a}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers: [{name: pytorch, image: torch}]
    Worker:
      replicas: 2
      template:
        spec:
          containers: [{name: pytorch, image: torch}]
"""

CLUSTER_QUEUE = """\
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: cq}
spec:
  resourceGroups:
    - coveredResources: [cpu, nvidia.com/gpu]
      flavors:
        - name: a100
          resources:
            - {name: cpu, nominalQuota: 8}
            - {name: nvidia.com/gpu, nominalQuota: 8}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: a100}
"""

WORKLOAD = """\
apiVersion: gpuctl.dev/v1alpha1
kind: WorkloadProfile
metadata: {name: week}
spec:
  classes:
    - name: train
      team: a
      kind: training
      arrival: {process: poisson, ratePerHour: 1}
      request: {resource: nvidia.com/gpu, count: 1}
      duration: {distribution: fixed, value: 1h}
"""

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, minimum: 1}
                port: {x-kubernetes-int-or-string: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: a}
spec:
  size: 2
  port: http
  extra: {anything: goes}
"""

W = "workloads/w.yaml"

CASES = [
    pytest.param("document-not-mapping", {W: "- a\n- b\n"}, (W, 1), id="list-document"),
    pytest.param(
        "kustomization-nested",
        {
            "apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [a.yaml]\n"
        },
        ("apps/kustomization.yaml", 2),
        id="kustomization-below-the-root",
    ),
    pytest.param(
        "document-missing-field",
        {W: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n"},
        (W, 3),
        id="no-metadata-name",
    ),
    pytest.param(
        "document-missing-field", {W: "kind: ConfigMap\nmetadata: {name: x}\n"}, (W, 1), id="no-apiversion"
    ),
    pytest.param(
        "duplicate-object",
        {W: DEPLOYMENT, "workloads/again.yaml": "# the same object again\n" + DEPLOYMENT},
        ("workloads/w.yaml", 1),
        id="same-deployment-twice",
    ),
    pytest.param(
        "namespace-not-allowed",
        {"gpuctl.yaml": "allow:\n  namespaces: [team-*]\n", W: DEPLOYMENT.replace("team-a", "default")},
        (W, 5),
        id="default-namespace",
    ),
    pytest.param(
        "kind-not-allowed",
        {"gpuctl.yaml": "allow:\n  kinds: [ConfigMap, GPUNodePool]\n", W: DEPLOYMENT},
        (W, 2),
        id="deployment-not-allowed",
    ),
    pytest.param(
        "k8s-schema",
        {W: DEPLOYMENT.replace("imagePullPolicy", "imagePullPolicyy")},
        (W, 16),
        id="unknown-container-field",
    ),
    pytest.param(
        "k8s-schema",
        {W: DEPLOYMENT.replace("selector:\n", "replicas: two\n  selector:\n")},
        (W, 7),
        id="replicas-not-integer",
    ),
    pytest.param("crd-schema", {W: CRD.replace("  size: 2", "  size: 0")}, (W, 27), id="cr-below-minimum"),
    pytest.param(
        "crd-schema",
        {W: CRD.replace("  size: 2", "  size: 2\n  colour: red")},
        (W, 28),
        id="cr-unknown-field",
    ),
    pytest.param(
        "k8s-name-invalid",
        {W: DEPLOYMENT.replace("name: web\n", "name: Web_App\n", 1)},
        (W, 4),
        id="uppercase-underscore-name",
    ),
    pytest.param(
        "k8s-name-invalid",
        {W: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team.a\n"},
        (W, 4),
        id="dotted-namespace-name",
    ),
    pytest.param(
        "k8s-label-invalid",
        {
            W: DEPLOYMENT.replace("labels: {app: web}}", "labels: {app: web}}", 1).replace(
                "  namespace: team-a\n", "  namespace: team-a\n  labels:\n    team: a b\n", 1
            )
        },
        (W, 7),
        id="label-value-with-space",
    ),
    pytest.param(
        "k8s-label-invalid",
        {W: DEPLOYMENT.replace("  namespace: team-a\n", "  namespace: team-a\n  labels:\n    -bad: x\n", 1)},
        (W, 7),
        id="label-key-starts-with-dash",
    ),
    pytest.param(
        "k8s-unknown-kind",
        {W: DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnt")},
        (W, 2),
        id="misspelt-kind",
    ),
    pytest.param(
        "kubernetes-version-unsupported",
        {"gpuctl.yaml": 'kubernetesVersion: "1.99"\n'},
        ("gpuctl.yaml", 1),
        id="future-version",
    ),
    pytest.param(
        "raycluster-spec",
        {W: RAYCLUSTER.replace("replicas: 1\n", "replicas: 9\n")},
        (W, 11),
        id="replicas-above-max",
    ),
    pytest.param(
        "raycluster-spec",
        {W: RAYCLUSTER.replace("  headGroupSpec:", "  headGroupSpek:")},
        (W, 4),
        id="no-head-group",
    ),
    pytest.param(
        "pytorchjob-spec", {W: PYTORCHJOB.replace("replicas: 1", "replicas: 2")}, (W, 7), id="two-masters"
    ),
    pytest.param(
        "pytorchjob-spec",
        {
            W: PYTORCHJOB.replace(
                "name: pytorch, image: torch}]\n    Worker", "name: main, image: torch}]\n    Worker"
            )
        },
        (W, 8),
        id="no-pytorch-container",
    ),
    pytest.param(
        "trainjob-spec",
        {
            W: "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\n"
            "metadata: {name: t, namespace: a}\n"
            "spec:\n  trainer: {numNodes: 2}\n"
        },
        (W, 4),
        id="no-runtime-ref",
    ),
    pytest.param(
        "kueue-deprecated-version",
        {W: CLUSTER_QUEUE.replace("v1beta2\nkind: ClusterQueue", "v1beta1\nkind: ClusterQueue")},
        (W, 1),
        id="v1beta1",
    ),
    pytest.param(
        "kueue-spec",
        {W: CLUSTER_QUEUE.replace("            - {name: cpu, nominalQuota: 8}\n", "")},
        (W, 9),
        id="flavor-misses-covered-resource",
    ),
    pytest.param(
        "kueue-spec",
        {W: CLUSTER_QUEUE.replace("nominalQuota: 8}\n---", "nominalQuota: 8, borrowingLimit: 2}\n---")},
        (W, 11),
        id="borrowing-without-cohort",
    ),
    pytest.param(
        "kueue-reference",
        {W: CLUSTER_QUEUE.replace("- name: a100", "- name: h100")},
        (W, 8),
        id="unknown-flavor",
    ),
    pytest.param(
        "kueue-reference",
        {
            W: CLUSTER_QUEUE + "---\napiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue\n"
            "metadata: {name: q, namespace: a}\nspec:\n  clusterQueue: nope\n"
        },
        (W, 21),
        id="localqueue-to-unknown-clusterqueue",
    ),
    pytest.param(
        "secret-in-git",
        {
            W: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: a}\n"
            "stringData:\n  token: hunter2\n"
        },
        (W, 4),
        id="plain-secret",
    ),
    pytest.param(
        "gpuctl-schema",
        {W: WORKLOAD.replace("ratePerHour: 1", "ratePerHour: -1")},
        (W, 9),
        id="negative-rate",
    ),
    pytest.param(
        "gpuctl-schema",
        {W: WORKLOAD.replace("      team: a\n", "      team: a\n      teem: b\n")},
        (W, 8),
        id="unknown-field",
    ),
    pytest.param(
        "gpuctl-unknown-kind",
        {W: WORKLOAD.replace("kind: WorkloadProfile", "kind: WorkloadProfil")},
        (W, 2),
        id="misspelt-gpuctl-kind",
    ),
    pytest.param(
        "settings-misplaced",
        {"sub/gpuctl.yaml": "apiVersion: gpuctl.dev/v1alpha1\nkind: Settings\nmetadata: {name: s}\n"},
        ("sub/gpuctl.yaml", 2),
        id="settings-in-subdirectory",
    ),
    pytest.param(
        "settings-invalid",
        {"gpuctl.yaml": "clusterName: a\nlimts: {}\n"},
        ("gpuctl.yaml", 2),
        id="misspelt-settings-field",
    ),
    pytest.param(
        "workload-resource-not-advertised",
        {W: WORKLOAD.replace("nvidia.com/gpu, count: 1", "nvidia.com/mig-7g.80gb, count: 1")},
        (W, 10),
        id="class-requests-7g",
    ),
    pytest.param(
        "workload-gpu-model-unknown",
        {W: WORKLOAD + "      gpuModels: [A100]\n"},
        (W, 12),
        id="unknown-model",
    ),
    pytest.param(
        "configmap-embedded-yaml",
        {
            "gpu-operator/mig-parted.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mig}\ndata:\n"
            "  config.yaml: |\n    - version: v1\n    - mig-configs: {}\n"
        },
        ("gpu-operator/mig-parted.yaml", 6),
        id="mig-parted-value-is-a-list",
    ),
]


@pytest.mark.parametrize(("rule", "files", "place"), CASES)
def test_manifest_rule_reports_its_id_at_file_and_line(
    load_repo: RepoLoader, rule: str, files: dict[str, str], place: tuple[str, int]
) -> None:
    """Each broken fixture yields a finding of the expected rule at the expected file:line."""
    result = load_repo(files)
    assert place in places(result, rule), "\n".join(map(str, result.diagnostics))


@pytest.mark.parametrize("text", [DEPLOYMENT, RAYCLUSTER, PYTORCHJOB, CLUSTER_QUEUE, WORKLOAD, CRD])
def test_well_formed_fixtures_pass(load_repo: RepoLoader, text: str) -> None:
    """The unbroken versions of the fixtures above load without any finding."""
    result = load_repo({W: text})
    assert result.ok and result.diagnostics == [], "\n".join(map(str, result.diagnostics))


def test_duplicate_message_names_both_places(load_repo: RepoLoader) -> None:
    """A second definition of an object names the place of the first one."""
    result = load_repo({"a.yaml": DEPLOYMENT, "b.yaml": DEPLOYMENT})
    [finding] = [d for d in result.diagnostics if d.rule == "duplicate-object"]
    assert finding.location.file == "b.yaml" and "a.yaml:1:1" in finding.message


def test_sops_encrypted_secret_passes(load_repo: RepoLoader) -> None:
    """A Secret carrying a sops block (encrypted in Git) is not reported."""
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: a}\n"
    text += "data: {k: ENC}\nsops: {version: 3.9}\n"
    assert places(load_repo({W: text}), "secret-in-git") == []

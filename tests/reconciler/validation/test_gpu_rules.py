"""GPU rules: the mig-parted ConfigMap, the device-plugin ConfigMap, GPUNodePool references,
geometry and strategy, and what pools advertise. One broken fixture per rule."""

from __future__ import annotations

import pytest

from schemas.diagnostics import Severity
from tests.reconciler.repo_fixtures import (
    DEVICE_PLUGIN,
    MIG_PARTED,
    RepoLoader,
    findings,
    places,
    pool,
)

MIG = "gpu-operator/mig-parted.yaml"
PLUGIN = "gpu-operator/device-plugin.yaml"
H100 = "pools/h100.yaml"


def plugin_with(key: str, body: str) -> str:
    """The base device-plugin ConfigMap plus one key (its text starts on line 24)."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return DEVICE_PLUGIN + f"  {key}: |\n{indented}"


CASES = [
    pytest.param(
        "mig-parted-schema",
        {MIG: MIG_PARTED.replace("          mig-enabled: false", "          mig-enabld: false")},
        (MIG, 12),
        id="mig-parted-unknown-key",
    ),
    pytest.param(
        "mig-parted-schema",
        {MIG: MIG_PARTED.replace("    version: v1", "    version: v2")},
        (MIG, 8),
        id="mig-parted-version",
    ),
    pytest.param(
        "gpu-operator-config-duplicate",
        {"gpu-operator/second.yaml": MIG_PARTED.replace("name: mig-parted", "name: mig-parted-2")},
        ("gpu-operator/second.yaml", 1),
        id="second-mig-parted-configmap",
    ),
    pytest.param(
        "mig-layout-fit",
        {MIG: MIG_PARTED.replace('"2g.20gb": 1', '"2g.20gb": 2')},
        (MIG, 16),
        id="layout-needs-8-compute-slices",
    ),
    pytest.param(
        "mig-profile-count",
        {MIG: MIG_PARTED.replace('"1g.10gb": 2', '"1g.10gb": 8')},
        (MIG, 17),
        id="eight-1g-instances",
    ),
    pytest.param(
        "mig-profile-unknown",
        {MIG: MIG_PARTED.replace('"1g.10gb": 2', '"1g.5gb": 2')},
        (MIG, 17),
        id="a100-40gb-profile-on-h100",
    ),
    pytest.param(
        "mig-config-unknown",
        {H100: pool("h100", "H100-SXM5-80GB", mig="config: nope\nstrategy: mixed\n")},
        (H100, 14),
        id="config-not-in-configmap",
    ),
    pytest.param(
        "mig-config-unknown",
        {H100: pool("h100", "H100-SXM5-80GB", mig="config: all-balanced\nstrategy: mixed\n")},
        (H100, 14),
        id="built-in-name-with-custom-configmap",
    ),
    pytest.param(
        "mig-config-unknown",
        {MIG: None, H100: pool("h100", "H100-SXM5-80GB", mig="config: all-balansed\nstrategy: mixed\n")},
        (H100, 14),
        id="not-a-built-in-without-configmap",
    ),
    pytest.param(
        "cluster-policy-reference",
        {
            "gpu-operator/policy.yaml": "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\n"
            "metadata: {name: p}\n"
            "spec:\n  devicePlugin:\n    config:\n      name: device-plugin\n      default: wohle\n"
        },
        ("gpu-operator/policy.yaml", 8),
        id="default-key-missing",
    ),
    pytest.param(
        "cluster-policy-reference",
        {
            "gpu-operator/policy.yaml": "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\n"
            "metadata: {name: p}\n"
            "spec:\n  migManager:\n    config:\n      name: other-mig-config\n"
        },
        ("gpu-operator/policy.yaml", 7),
        id="names-another-configmap",
    ),
    pytest.param(
        "mig-not-capable",
        {"pools/t4.yaml": pool("t4", "T4", per_node=4, mig="config: all-balanced\n")},
        ("pools/t4.yaml", 14),
        id="mig-on-t4",
    ),
    pytest.param(
        "mig-config-no-match",
        {
            MIG: MIG_PARTED.replace(
                "      custom:\n        - devices: all",
                '      custom:\n        - device-filter: "0x20B710DE"\n          devices: all',
            )
        },
        (H100, 14),
        id="device-filter-matches-a30-only",
    ),
    pytest.param(
        "mig-single-strategy",
        {H100: pool("h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: single\n")},
        (H100, 15),
        id="single-with-three-profiles",
    ),
    pytest.param(
        "mig-strategy-none-with-mig",
        {H100: pool("h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: none\n")},
        (H100, 15),
        id="none-with-mig-devices",
    ),
    pytest.param(
        "mig-strategy-mismatch",
        {H100: pool("h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: mixed\n", plugin="whole")},
        (H100, 17),
        id="plugin-says-none",
    ),
    pytest.param(
        "device-plugin-config-unknown",
        {"pools/a100.yaml": pool("a100", "A100-SXM4-80GB", plugin="wohle")},
        ("pools/a100.yaml", 14),
        id="misspelt-key",
    ),
    pytest.param(
        "pool-gpu-model-unknown",
        {"pools/a100.yaml": pool("a100", "A100-80GB", plugin="whole")},
        ("pools/a100.yaml", 10),
        id="model-not-in-catalogue",
    ),
    pytest.param(
        "pool-selector-duplicate",
        {
            "pools/a100b.yaml": pool("a100b", "A100-SXM4-80GB", plugin="whole").replace(
                "pool: a100b", "pool: a100"
            )
        },
        ("pools/a100b.yaml", 6),
        id="same-selector",
    ),
    pytest.param(
        "pool-selector-overlap",
        {
            "pools/a100b.yaml": pool("a100b", "A100-SXM4-80GB", plugin="whole").replace(
                "      pool: a100b\n",
                "      zone: b\n    matchExpressions:\n"
                "      - {key: pool, operator: In, values: [a100, x]}\n",
            )
        },
        ("pools/a100b.yaml", 6),
        id="expression-admits-the-other-pools-label",
    ),
    pytest.param(
        "device-plugin-unknown-key",
        {
            PLUGIN: DEVICE_PLUGIN.replace(
                "            replicas: 4", "            replicas: 4\n            selector: {}"
            )
        },
        (PLUGIN, 23),
        id="per-resource-selector",
    ),
    pytest.param(
        "device-plugin-unknown-key",
        {PLUGIN: plugin_with("x", "version: v1\nflags:\n  renameByDefault: true")},
        (PLUGIN, 26),
        id="renameByDefault-under-flags",
    ),
    pytest.param(
        "device-plugin-schema",
        {PLUGIN: plugin_with("x", "version: v2\nflags: {}")},
        (PLUGIN, 24),
        id="version-v2",
    ),
    pytest.param(
        "device-plugin-rename",
        {
            PLUGIN: DEVICE_PLUGIN.replace(
                "            replicas: 4", "            replicas: 4\n            rename: my-gpu"
            )
        },
        (PLUGIN, 23),
        id="custom-rename",
    ),
    pytest.param(
        "device-plugin-devices",
        {
            PLUGIN: DEVICE_PLUGIN.replace(
                "            replicas: 4", "            replicas: 4\n            devices: [0]"
            )
        },
        (PLUGIN, 23),
        id="devices-subset",
    ),
    pytest.param(
        "device-plugin-replicas",
        {PLUGIN: DEVICE_PLUGIN.replace("replicas: 4", "replicas: 1")},
        (PLUGIN, 22),
        id="replicas-one",
    ),
    pytest.param(
        "device-plugin-mps-mixed",
        {
            PLUGIN: plugin_with(
                "x",
                "version: v1\nflags:\n  migStrategy: mixed\nsharing:\n  mps:\n"
                "    resources:\n      - name: nvidia.com/gpu\n        replicas: 4",
            )
        },
        (PLUGIN, 28),
        id="mps-with-mixed-flag",
    ),
    pytest.param(
        "device-plugin-mps-mixed",
        {
            PLUGIN: plugin_with(
                "mps",
                "version: v1\nsharing:\n  mps:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 4",
            ),
            H100: pool("h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: mixed\n", plugin="mps"),
        },
        (H100, 17),
        id="mps-on-mixed-pool",
    ),
    pytest.param(
        "device-plugin-mps-mig",
        {
            PLUGIN: plugin_with(
                "mps",
                "version: v1\nsharing:\n  mps:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 4",
            ),
            H100: pool("h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: mixed\n", plugin="mps"),
        },
        (H100, 17),
        id="mps-on-mig-pool",
    ),
    pytest.param(
        "device-plugin-mps-replicas",
        {
            PLUGIN: plugin_with(
                "x",
                "version: v1\nsharing:\n  mps:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 64",
            )
        },
        (PLUGIN, 29),
        id="mps-64-clients",
    ),
    pytest.param(
        "device-plugin-mps-replicas",
        {
            PLUGIN: plugin_with(
                "mps",
                "version: v1\nsharing:\n  mps:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 32",
            ),
            "pools/v100.yaml": pool("v100", "V100-32GB", plugin="mps"),
        },
        ("pools/v100.yaml", 14),
        id="mps-32-clients-on-volta",
    ),
    pytest.param(
        "device-plugin-sharing-conflict",
        {
            PLUGIN: plugin_with(
                "x",
                "version: v1\nsharing:\n  timeSlicing:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 2\n  mps:\n    resources:\n      - name: nvidia.com/gpu\n"
                "        replicas: 2",
            )
        },
        (PLUGIN, 30),
        id="time-slicing-and-mps",
    ),
    pytest.param(
        "device-plugin-ignored-field",
        {PLUGIN: plugin_with("x", "version: v1\nresources:\n  gpus: []")},
        (PLUGIN, 25),
        id="resources-block",
    ),
    pytest.param(
        "workload-resource-not-advertised",
        {
            "apps/job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: a}\nspec:\n"
            "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: c\n"
            "          image: i\n          resources:\n            limits:\n"
            "              nvidia.com/mig-1g.5gb: 1\n"
        },
        ("apps/job.yaml", 13),
        id="job-asks-for-a100-40gb-profile",
    ),
    pytest.param(
        "kueue-flavor-matches-no-pool",
        {
            "quotas/flavor.yaml": "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\n"
            "metadata: {name: h100}\n"
            "spec:\n  nodeLabels:\n    nvidia.com/gpu.product: NVIDIA-H100-SXM5-80GB\n"
        },
        ("quotas/flavor.yaml", 5),
        id="product-label-spelt-differently",
    ),
    pytest.param(
        "quota-resource-not-advertised",
        {
            "quotas/q.yaml": "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: a}\nspec:\n"
            "  hard:\n    requests.nvidia.com/mig-7g.80gb: 1\n"
        },
        ("quotas/q.yaml", 6),
        id="resourcequota-7g-not-in-layout",
    ),
    pytest.param(
        "quota-resource-not-advertised",
        {
            "quotas/cq.yaml": "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ClusterQueue\n"
            "metadata: {name: cq}\nspec:\n"
            "  resourceGroups:\n    - coveredResources:\n        - nvidia.com/gpu\n"
            "        - nvidia.com/mig-1g.20gb\n      flavors:\n        - name: f\n"
            "          resources:\n            - {name: nvidia.com/gpu, nominalQuota: 1}\n"
            "            - {name: nvidia.com/mig-1g.20gb, nominalQuota: 1}\n"
        },
        ("quotas/cq.yaml", 8),
        id="kueue-covered-1g20gb-not-in-layout",
    ),
]


@pytest.mark.parametrize(("rule", "files", "place"), CASES)
def test_gpu_rule_reports_its_id_at_file_and_line(
    load_repo: RepoLoader, rule: str, files: dict[str, str], place: tuple[str, int]
) -> None:
    """Each broken fixture yields a finding of the expected rule at the expected file:line."""
    result = load_repo(files)
    assert place in places(result, rule), "\n".join(map(str, result.diagnostics))
    severities = {d.severity for d in findings(result, rule)}
    if Severity.ERROR in severities:
        assert not result.ok


def test_base_repository_is_valid(load_repo: RepoLoader) -> None:
    """The fixture repository the rule tests break is itself valid, without warnings."""
    result = load_repo()
    assert result.ok and result.diagnostics == [], "\n".join(map(str, result.diagnostics))


def test_valid_state_carries_the_gpu_operator_configs(load_repo: RepoLoader) -> None:
    """A valid load fills DesiredState.mig_parted and the device-plugin configs by key."""
    result = load_repo()
    assert result.state is not None
    assert result.state.mig_parted is not None and "custom" in result.state.mig_parted.mig_configs
    assert sorted(result.state.device_plugin) == ["mixed", "shared", "whole"]
    assert [p.metadata.name for p in result.state.pools] == ["a100", "h100", "t4"]


def test_all_errors_are_reported_at_once(load_repo: RepoLoader) -> None:
    """Breaking three unrelated things yields three findings in one run, sorted by place."""
    result = load_repo(
        {
            MIG: MIG_PARTED.replace('"1g.10gb": 2', '"1g.10gb": 8'),
            "pools/a100.yaml": pool("a100", "A100-SXM4-80GB", plugin="wohle"),
            "pools/t4.yaml": pool("t4", "T4", per_node=4, mig="config: all-balanced\n", plugin="shared"),
        }
    )
    rules = {d.rule for d in result.diagnostics}
    assert {"mig-profile-count", "device-plugin-config-unknown", "mig-not-capable"} <= rules
    assert result.diagnostics == sorted(result.diagnostics)


def test_built_in_layouts_apply_without_a_repository_configmap(load_repo: RepoLoader) -> None:
    """Without a mig-parted ConfigMap the MIG manager's generated all-balanced is valid and used."""
    result = load_repo(
        {
            MIG: None,
            H100: pool(
                "h100", "H100-SXM5-80GB", mig="config: all-balanced\nstrategy: mixed\n", plugin="mixed"
            ),
        }
    )
    assert result.ok, "\n".join(map(str, result.diagnostics))
    assert result.state is not None and result.state.mig_parted is None


def test_unused_config_is_checked_once_per_place_against_filtered_models(load_repo: RepoLoader) -> None:
    """A config no pool uses is checked on every model its device-filter names, reported once."""
    extra = (
        "      spare:\n"
        '        - device-filter: ["0x233010DE", "0x20B210DE"]\n'
        "          devices: all\n"
        "          mig-enabled: true\n"
        "          mig-devices:\n"
        '            "4g.40gb": 2\n'
    )
    result = load_repo({MIG: MIG_PARTED + extra})
    [finding] = findings(result, "mig-profile-count")
    assert (finding.location.file, finding.location.line) == (MIG, 25)
    assert "A100-SXM4-80GB" in finding.message and "H100-SXM5-80GB" in finding.message


def test_container_resource_in_limits_and_requests_warns_once(load_repo: RepoLoader) -> None:
    """A container naming an unadvertised resource in both limits and requests gets one warning."""
    job = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n"
        "    - name: c\n      image: i\n      resources:\n"
        "        limits: {nvidia.com/mig-7g.80gb: 1}\n        requests: {nvidia.com/mig-7g.80gb: 1}\n"
    )
    result = load_repo({"apps/pod.yaml": job})
    assert places(result, "workload-resource-not-advertised") == [("apps/pod.yaml", 9)]
    assert result.ok


def test_capacity_warnings_wait_for_a_parsable_device_plugin_config(load_repo: RepoLoader) -> None:
    """When a pool's device-plugin config fails to parse, no advertised-resource warnings cascade."""
    broken = DEVICE_PLUGIN.replace(
        "            replicas: 4", "            replicas: 4\n            selector: {}"
    )
    quota = (
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: a}\n"
        "spec: {hard: {requests.nvidia.com/gpu.shared: 4}}\n"
    )
    result = load_repo({PLUGIN: broken, "quotas/q.yaml": quota})
    assert findings(result, "device-plugin-unknown-key")
    assert findings(result, "quota-resource-not-advertised") == []
    assert findings(
        load_repo({"quotas/q.yaml": quota.replace("gpu.shared", "gpu.sharedd")}),
        "quota-resource-not-advertised",
    )


def test_overlap_witness_is_sound() -> None:
    """A witness matches both selectors; conflicting labels or disjoint In sets give none."""
    from reconciler.validation.selectors import overlap_witness
    from schemas.kinds import LabelSelector

    def sel(raw: dict[str, object]) -> LabelSelector:
        return LabelSelector.model_validate(raw)

    a = sel({"matchLabels": {"pool": "a"}})
    assert overlap_witness(a, sel({"matchLabels": {"pool": "b"}})) is None
    assert overlap_witness(a, sel({"matchLabels": {"zone": "z"}})) == {"pool": "a", "zone": "z"}
    b = sel({"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["t4", "l4"]}]})
    c = sel({"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["a100"]}]})
    assert overlap_witness(b, c) is None
    assert (
        overlap_witness(a, sel({"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["a"]}]}))
        is None
    )


def test_flavor_matching_gfd_product_label_passes(load_repo: RepoLoader) -> None:
    """Flavors naming the product label GFD writes (plain, and -SHARED without renaming) match."""
    flavors = (
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\nmetadata: {name: h100}\n"
        "spec: {nodeLabels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3, pool: h100}}\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\nmetadata: {name: t4}\n"
        "spec: {nodeLabels: {nvidia.com/gpu.product: Tesla-T4-SHARED}}\n"
    )
    plugin = DEVICE_PLUGIN.replace("renameByDefault: true", "renameByDefault: false")
    result = load_repo({"quotas/flavors.yaml": flavors, PLUGIN: plugin})
    assert findings(result, "kueue-flavor-matches-no-pool") == [], "\n".join(map(str, result.diagnostics))

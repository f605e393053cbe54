"""Kustomize overlays built by the real kustomize: what the build yields, where findings point,
reading a revision without a checkout, and what is refused. Uses `examples/multi-cluster`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.render import MIG_CONFIG_LABEL, render
from reconciler.rollout.targets import needs_rollout, target_for
from reconciler.source import load_directory, load_revision
from tests.reconciler.repo_fixtures import places
from tests.reconciler.source.kustomize_support import EXAMPLE, example_repo, git, write

pytestmark = pytest.mark.usefixtures("kustomize_tool")

REMOTE = "https://github.com/example/gpu-stack//base?ref=v1.2.0"
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team-a\ndata:\n  k: v\n"

# Broken kustomize trees: rule, files, and the (file, line) the finding must name.
KUSTOMIZE_CASES = [
    pytest.param(
        "kustomize-refused",
        {
            "kustomization.yaml": KUSTOMIZATION + f"resources:\n  - c.yaml\n  - {REMOTE}\n",
            "c.yaml": CONFIGMAP,
        },
        ("kustomization.yaml", 5),
        id="remote-base",
    ),
    pytest.param(
        "kustomize-refused",
        {
            "kustomization.yaml": KUSTOMIZATION
            + "helmCharts:\n  - name: gpu-operator\n    repo: https://helm.ngc.nvidia.com/nvidia\n"
        },
        ("kustomization.yaml", 3),
        id="helm-charts",
    ),
    pytest.param(
        "kustomize-refused",
        {
            "kustomization.yaml": KUSTOMIZATION + "resources: [c.yaml]\ngenerators:\n  - gen.yaml\n",
            "c.yaml": CONFIGMAP,
            "gen.yaml": "apiVersion: example.com/v1\nkind: Secrets\nmetadata:\n  name: g\n  annotations:\n"
            "    config.kubernetes.io/function: |\n      exec:\n        path: ./steal-credentials.sh\n",
        },
        ("kustomization.yaml", 5),
        id="exec-plugin",
    ),
    pytest.param(
        "kustomize-refused",
        {
            "overlay/kustomization.yaml": KUSTOMIZATION + "resources: [../base]\n",
            "base/kustomization.yaml": KUSTOMIZATION + "resources: [c.yaml]\ntransformers:\n  - |\n"
            "    apiVersion: example.com/v1\n    kind: Shell\n    metadata: {name: s}\n",
            "base/c.yaml": CONFIGMAP,
        },
        ("../base/kustomization.yaml", 5),
        id="go-plugin-in-a-base",
    ),
    pytest.param(
        "kustomize-build",
        {
            "kustomization.yaml": KUSTOMIZATION + "resources:\n  - c.yaml\n  - missing.yaml\n",
            "c.yaml": CONFIGMAP,
        },
        ("kustomization.yaml", 5),
        id="missing-resource",
    ),
    pytest.param(
        "kustomize-limit",
        {
            "gpuctl.yaml": "limits:\n  kustomizeMaxOutputBytes: 64\n",
            "kustomization.yaml": KUSTOMIZATION + "resources: [c.yaml]\n",
            "c.yaml": CONFIGMAP,
        },
        ("kustomization.yaml", 1),
        id="output-over-the-limit",
    ),
    pytest.param(
        "file-too-large",
        {
            "gpuctl.yaml": "limits:\n  maxFileBytes: 100\n",
            "kustomization.yaml": KUSTOMIZATION + "resources: [big.yaml]\n",
            "big.yaml": CONFIGMAP + "  padding: " + "x" * 200 + "\n",
            "docs/diagram.svg": "<svg>" + "x" * 200 + "</svg>\n",  # over the limit but not built: fine
        },
        ("big.yaml", 1),
        id="resource-over-the-file-limit",
    ),
    pytest.param(
        "kustomization-nested",
        {"c.yaml": CONFIGMAP, "apps/kustomization.yaml": KUSTOMIZATION + "resources: [../c.yaml]\n"},
        ("apps/kustomization.yaml", 2),
        id="kustomization-below-a-plain-root",
    ),
]


@pytest.mark.parametrize(("rule", "files", "place"), KUSTOMIZE_CASES)
def test_kustomize_rule_reports_its_id_at_file_and_line(
    tmp_path: Path, rule: str, files: dict[str, str], place: tuple[str, int]
) -> None:
    """Each broken kustomize tree yields a finding of the expected rule at the expected file:line."""
    write(tmp_path, files)
    root = tmp_path / "overlay" if "overlay/kustomization.yaml" in files else tmp_path
    result = load_directory(root)
    assert not result.ok
    assert place in places(result, rule), "\n".join(map(str, result.diagnostics))
    assert not [d for d in result.diagnostics if d.location.file.startswith("docs/")]


def test_overlay_patch_changes_the_render_and_the_rollout() -> None:
    """Staging's patch of the base pool changes the node label it renders, so a node carrying
    production's layout needs a rollout under staging and none under production."""
    prod = load_directory(EXAMPLE / "clusters" / "prod")
    staging = load_directory(EXAMPLE / "clusters" / "staging")
    assert prod.state is not None and staging.state is not None, staging.diagnostics
    labels = {}
    for name, state in (("prod", prod.state), ("staging", staging.state)):
        [patch] = [
            r.obj for r in render(state) if r.ref.kind == "NodePoolPatch" and r.ref.name == "h100-inference"
        ]
        labels[name] = patch["spec"]["labels"][MIG_CONFIG_LABEL]
    assert labels == {"prod": "all-balanced", "staging": "all-1g.10gb"}
    node = {"metadata": {"name": "gpu-1", "labels": {MIG_CONFIG_LABEL: "all-balanced"}}}
    assert not needs_rollout(node, target_for(prod.state.pool("h100-inference")))
    assert needs_rollout(node, target_for(staging.state.pool("h100-inference")))
    # The overlays' own settings and quotas, patched over the base's.
    assert (prod.state.settings.cluster_name, staging.state.settings.cluster_name) == (
        "ml-prod",
        "ml-staging",
    )
    quota = {
        m.ref.namespace: m.obj["spec"]["hard"]
        for m in staging.state.manifests
        if m.ref.kind == "ResourceQuota"
    }
    assert quota["team-llm"]["requests.nvidia.com/mig-1g.10gb"] == "16"
    assert staging.state.built_with and "kustomize v5." in staging.state.built_with


def test_built_objects_carry_no_origin_annotation() -> None:
    """The origin annotation the build adds is gone from every object that would be applied."""
    state = load_directory(EXAMPLE / "clusters" / "prod").state
    assert state is not None
    for manifest in state.manifests:
        assert "config.kubernetes.io/origin" not in manifest.obj["metadata"].get("annotations", {})
        assert "annotations" not in manifest.obj["metadata"] or manifest.obj["metadata"]["annotations"]


def test_finding_in_a_base_names_the_base_file_and_line(tmp_path: Path) -> None:
    """A MIG config misspelt in the base is reported at the base file's line through the overlay."""
    repo = example_repo(tmp_path / "repo")
    pools = repo / "base" / "pools.yaml"
    text = pools.read_text(encoding="utf-8")
    line = text.splitlines().index("    config: all-balanced") + 1
    pools.write_text(text.replace("config: all-balanced", "config: all-balancd"), encoding="utf-8")
    result = load_directory(repo / "clusters" / "prod")
    assert places(result, "mig-config-unknown") == [("../../base/pools.yaml", line)]


def test_field_set_by_an_overlay_patch_is_reported_at_the_patch(tmp_path: Path) -> None:
    """A quota entry an overlay's JSON 6902 operation adds is reported at that operation's line."""
    repo = example_repo(tmp_path / "repo")
    overlay = repo / "clusters" / "prod" / "kustomization.yaml"
    text = overlay.read_text(encoding="utf-8")
    broken = text.replace("- op: replace\n        path: /spec/hard/requests.nvidia.com~1mig-1g.10gb",
                          "- op: add\n        path: /spec/hard/requests.nvidia.com~1mig-4g.40gb")  # fmt: skip
    assert broken != text
    overlay.write_text(broken, encoding="utf-8")
    line = text.splitlines().index('        value: "48"') + 1
    result = load_directory(repo / "clusters" / "prod")
    assert places(result, "quota-resource-not-advertised") == [("kustomization.yaml", line)]


def test_revision_builds_without_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older revision's overlay is built from the Git tree while the work tree holds a broken
    base; the work tree is untouched and the private build directory removed."""
    repo = example_repo(tmp_path / "repo")
    (repo / "base" / "pools.yaml").write_text("this: [is not: a pool\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "break the base")
    made: list[Path] = []
    real = tempfile.TemporaryDirectory

    def recorded(**kwargs: str) -> tempfile.TemporaryDirectory[str]:
        directory = real(dir=tmp_path, **kwargs)
        made.append(Path(directory.name))
        return directory

    monkeypatch.setattr(tempfile, "TemporaryDirectory", recorded)  # where each build's copy is made
    old = load_revision(repo, "HEAD~1", "clusters/staging")
    assert old.ok and old.state is not None, old.diagnostics
    assert old.state.pool("h100-inference").spec.mig.config == "all-1g.10gb"
    assert old.state.revision == git(repo, "rev-parse", "HEAD~1")
    head = load_revision(repo, "HEAD", "clusters/staging")
    assert [file for file, _ in places(head, "yaml-syntax")] == ["../../base/pools.yaml"]
    assert git(repo, "status", "--porcelain") == ""
    assert len(made) == 2 and not any(directory.exists() for directory in made)


def test_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    """A base file that is a symlink out of the repository is reported and never copied."""
    repo = example_repo(tmp_path / "repo")
    (tmp_path / "secret.yaml").write_text(CONFIGMAP, encoding="utf-8")
    (repo / "base" / "stolen.yaml").symlink_to(tmp_path / "secret.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "link")
    result = load_revision(repo, "HEAD", "clusters/prod")
    assert places(result, "symlink-escapes-root") == [("../../base/stolen.yaml", 1)]


def test_build_error_exits_1_naming_the_file_and_apply_applies_nothing(tmp_path: Path) -> None:
    """`validate` exits 1 with kustomize's message at the overlay's file:line; `apply` stops
    before it reaches any cluster."""
    repo = example_repo(tmp_path / "repo")
    overlay = repo / "clusters" / "staging"
    text = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    (overlay / "kustomization.yaml").write_text(text.replace("h100-small-slices.yaml", "h100-typo.yaml"))
    runner = CliRunner()
    done = runner.invoke(app, ["validate", str(overlay)])
    assert done.exit_code == 1
    line = text.splitlines().index("  - path: h100-small-slices.yaml") + 1
    assert f"{overlay}/kustomization.yaml:{line}:1: error: " in done.stdout
    assert "[kustomize-build]" in done.stdout and "h100-typo.yaml" in done.stdout
    assert str(tempfile.gettempdir()) + "/gpuctl-kustomize" not in done.stdout
    db = tmp_path / "audit.db"
    done = runner.invoke(
        app, ["apply", str(overlay), "--sandbox", "http://127.0.0.1:9", "--audit-db", str(db)]
    )
    assert done.exit_code == 2 and "nothing was applied" in done.output
    assert not db.exists()


def test_validate_all_finds_every_overlay_and_not_the_base() -> None:
    """`validate --all` on the example validates clusters/prod and clusters/staging, not base/."""
    done = CliRunner().invoke(app, ["validate", "--all", str(EXAMPLE), "--format", "json"])
    assert done.exit_code == 0, done.output
    import json

    report = json.loads(done.stdout)
    roots = [Path(r["root"]).relative_to(EXAMPLE).as_posix() for r in report["roots"]]
    assert roots == ["clusters/prod", "clusters/staging"]
    assert all(r["valid"] and r["builtWith"] for r in report["roots"])


def test_change_in_a_base_reaches_every_overlay(tmp_path: Path) -> None:
    """A mistake in the shared base makes `validate --all` report it once per overlay (exit 1)."""
    repo = example_repo(tmp_path / "repo")
    pools = repo / "base" / "pools.yaml"
    pools.write_text(pools.read_text(encoding="utf-8").replace("perNode: 8", "perNode: 80", 1))
    done = CliRunner().invoke(app, ["validate", "--all", str(repo)])
    assert done.exit_code == 1
    bad = [line for line in done.stdout.splitlines() if "[gpuctl-schema]" in line]
    assert [line.split("/../../")[0] for line in bad] == [f"{repo}/clusters/prod", f"{repo}/clusters/staging"]


def test_generated_and_prefixed_objects_point_at_their_source(tmp_path: Path) -> None:
    """A configMapGenerator's ConfigMap is placed at its generator entry; an object renamed by
    namePrefix is still found in its file (findings there name its line)."""
    write(
        tmp_path,
        {
            "kustomization.yaml": KUSTOMIZATION + "namePrefix: staging-\nresources: [c.yaml]\n"
            "configMapGenerator:\n  - name: tuning\n    namespace: team-a\n    literals: [k=v]\n",
            "c.yaml": CONFIGMAP.replace("  k: v\n", "  k: v\n  k: w\n"),
        },
    )
    result = load_directory(tmp_path)
    assert places(result, "yaml-duplicate-key") == [("c.yaml", 8)]
    write(tmp_path, {"c.yaml": CONFIGMAP})
    state = load_directory(tmp_path).state
    assert state is not None
    where = {m.ref.name.split("-")[1]: (m.location.file, m.location.line) for m in state.manifests}
    assert where == {"c": ("c.yaml", 1), "tuning": ("kustomization.yaml", 6)}


def test_settings_come_from_the_build_or_the_root_file_not_both(tmp_path: Path) -> None:
    """A root gpuctl.yaml file next to a Settings resource of the build is a settings-invalid
    finding; a Settings resource alone is the revision's settings."""
    settings = "apiVersion: gpuctl.dev/v1alpha1\nkind: Settings\nmetadata: {name: gpuctl}\nclusterName: lab\n"
    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION + "resources: [s.yaml, c.yaml]\n",
                     "s.yaml": settings, "c.yaml": CONFIGMAP})  # fmt: skip
    alone = load_directory(tmp_path)
    assert alone.state is not None and alone.state.settings.cluster_name == "lab"
    write(tmp_path, {"gpuctl.yaml": "clusterName: other\n"})
    assert places(load_directory(tmp_path), "settings-invalid") == [("gpuctl.yaml", 1)]


def test_newer_kustomize_builds_the_same_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kubectl of KUBEBUILDER_ASSETS (a newer kustomize) builds the example into the same
    objects as the default tool, and is the one named."""
    import os

    from reconciler.source.kustomize_tool import find_tool

    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if not assets or not (Path(assets) / "kubectl").exists():
        pytest.skip("KUBEBUILDER_ASSETS has no kubectl")
    default = load_directory(EXAMPLE / "clusters" / "staging").state
    monkeypatch.setenv("PATH", f"{assets}{os.pathsep}{os.environ.get('PATH', '')}")
    newer = load_directory(EXAMPLE / "clusters" / "staging").state
    assert default is not None and newer is not None
    assert newer.built_with == find_tool().label
    assert [r.obj for r in render(newer)] == [r.obj for r in render(default)]


@pytest.mark.parametrize(
    ("script", "limit"),
    [("exec sleep 60", "took longer than 0.2 s"), ("exec yes gpu", "wrote more than 4096 bytes")],
    ids=["time", "output-size"],
)
def test_a_build_past_its_limits_is_stopped(tmp_path: Path, script: str, limit: str) -> None:
    """A build that never ends, or never stops writing, is killed at the limit and reported."""
    from reconciler.source.kustomize_tool import KustomizeTool, run_build

    endless = KustomizeTool(("sh", "-c", script, "build"), "sh", "test")
    run = run_build(endless, tmp_path, tmp_path / "out.yaml", timeout_s=0.2, max_bytes=4096)
    assert run.limit_hit and limit in run.error and run.output == b""


def test_a_directory_of_builtin_transformer_configs_is_built_with_the_root(tmp_path: Path) -> None:
    """A `transformers` entry naming a kustomization of builtin configs is copied and applied."""
    labels = (
        "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: team}\n"
        "labels: {gpuctl.dev/team: a}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"
    )
    write(
        tmp_path,
        {
            "root/kustomization.yaml": KUSTOMIZATION
            + "resources: [c.yaml]\ntransformers: [../shared/labels]\n",
            "root/c.yaml": CONFIGMAP,
            "shared/labels/kustomization.yaml": KUSTOMIZATION + "resources: [labels.yaml]\n",
            "shared/labels/labels.yaml": labels,
        },
    )
    state = load_directory(tmp_path / "root").state
    assert state is not None
    [configmap] = state.manifests
    assert configmap.obj["metadata"]["labels"] == {"gpuctl.dev/team": "a"}

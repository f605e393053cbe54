"""The hostile and broken input corpus: compact definitions of bad repositories.

Each `HostileCase` is the example repository (`desired_state/`) with a few files added or
replaced, breaking it in one way, plus the rule and the file:line `gpuctl validate` must
name. Big inputs (a 50 MB file, 100,000 documents) are generated when a test writes the case,
never stored. `write_case` writes a case into a directory; `overlay` gives its files only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "desired_state"


@dataclass(frozen=True)
class Symlink:
    """A symbolic link to `target` (written as given: relative targets stay relative)."""

    target: str


Content = str | bytes | Symlink
Files = dict[str, Content]


@dataclass(frozen=True)
class HostileCase:
    name: str
    rule: str
    # The finding must name this file (relative to the repository root) at this line.
    file: str
    line: int | None  # None: the line depends on the example repository's size (any line)
    files: Callable[[], Files] = field(repr=False)


def write_case(root: Path, case: HostileCase) -> Path:
    """The example repository at `root` with the case's files written over it."""
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    for relative, content in case.files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def _fixed(files: Files) -> Callable[[], Files]:
    return lambda: files


def configmap(name: str, namespace: str = "team-research", data: str = "{k: v}") -> str:
    meta = f"metadata:\n  name: {name}\n  namespace: {namespace}\n"
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}data: {data}\n"


LAUGHS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: lol, namespace: team-research}
data:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _fifty_megabytes() -> Files:
    line = "# " + "x" * 97 + "\n"
    return {"big/huge.yaml": configmap("huge") + line * (50 * 1024 * 1024 // len(line))}


def _hundred_thousand_documents() -> Files:
    return {"many/docs.yaml": "---\na: 1\n" * 100_000}


def _deep_nesting() -> Files:
    return {"deep/nested.yaml": configmap("deep", data="\n  k: " + "[" * 200 + "]" * 200)}


def _mig_parted_with(layout: str) -> Files:
    """The example's mig-parted ConfigMap with one more config, `hostile` (`layout` is its body)."""
    path = "gpu-operator/mig-parted-config.yaml"
    text = (EXAMPLE / path).read_text(encoding="utf-8").rstrip("\n") + "\n\n      hostile:\n"
    text += "".join(f"        {line}\n" for line in layout.splitlines())
    return {path: text}


def _mig_line() -> int:
    """The line of the first `mig-devices` entry of the appended `hostile` config."""
    lines = (EXAMPLE / "gpu-operator/mig-parted-config.yaml").read_text(encoding="utf-8").rstrip("\n")
    return len(lines.splitlines()) + 2 + 5


# One bad layout of each kind per MIG geometry family, pinned to its PCI device ID.
_MIG_FAMILIES = {
    "a100-40gb": ("0x20B010DE", "1g.5gb", "3g.20gb", "2g.20gb"),
    "a100-80gb": ("0x20B210DE", "1g.10gb", "3g.40gb", "2g.10gb"),
    "a30": ("0x20B710DE", "1g.6gb", "2g.12gb", "3g.40gb"),
    "h100-80gb": ("0x233010DE", "1g.10gb", "3g.40gb", "1g.5gb"),
    "h100-nvl": ("0x232110DE", "1g.12gb", "3g.47gb", "1g.10gb"),
    "h200": ("0x233510DE", "1g.18gb", "3g.71gb", "3g.40gb"),
}


def _layout(device_id: str, devices: dict[str, int]) -> str:
    body = "".join(f'    "{profile}": {count}\n' for profile, count in devices.items())
    return f'- device-filter: ["{device_id}"]\n  devices: all\n  mig-enabled: true\n  mig-devices:\n{body}'


def _mig_cases() -> list[HostileCase]:
    cases = []
    mig_file = "gpu-operator/mig-parted-config.yaml"
    for family, (device_id, small, half, foreign) in _MIG_FAMILIES.items():
        count = 5 if family == "a30" else 8  # one more than the smallest profile's max_count
        two_halves_plus_one = {half: 2, small: 1}  # memory slices run out: no placement
        bad = {
            "mig-profile-unknown": {foreign: 1},
            "mig-profile-count": {small: count},
            "mig-layout-fit": two_halves_plus_one,
        }
        for rule, devices in bad.items():
            layout = _layout(device_id, devices)
            # A layout that does not fit is reported on its mig-devices key, the others on the entry.
            line = _mig_line() - (1 if rule == "mig-layout-fit" else 0)
            files = _fixed(_mig_parted_with(layout))
            cases.append(HostileCase(f"{rule}-{family}", rule, mig_file, line, files))
    return cases


DEVICE_PLUGIN = "gpu-operator/device-plugin-config.yaml"


def _device_plugin_with(snippet: str) -> Files:
    """The example's device-plugin ConfigMap with one more key, `hostile`."""
    text = (EXAMPLE / DEVICE_PLUGIN).read_text(encoding="utf-8").rstrip("\n") + "\n  hostile: |\n"
    text += "".join(f"    {line}\n" for line in snippet.splitlines())
    return {DEVICE_PLUGIN: text}


def _device_plugin_line(offset: int) -> int:
    lines = (EXAMPLE / DEVICE_PLUGIN).read_text(encoding="utf-8").rstrip("\n").splitlines()
    return len(lines) + 1 + offset


_SHARING = "version: v1\nsharing:\n  timeSlicing:\n    resources:\n      - name: nvidia.com/gpu\n"
# The stale or wrong device-plugin snippets of gpu-object-model.md §8; offset of the bad line.
_DEVICE_PLUGIN_SNIPPETS = {
    "device-plugin-unknown-key": (_SHARING + "        replicas: 4\n        selector: {gpu: t4}\n", 7),
    "device-plugin-rename": (_SHARING + "        replicas: 4\n        rename: nvidia.com/my-shared-gpu\n", 7),
    "device-plugin-mps-mixed": (
        "version: v1\nflags:\n  migStrategy: mixed\nsharing:\n  mps:\n    resources:\n"
        "      - name: nvidia.com/gpu\n        replicas: 4\n", 5),
    "device-plugin-replicas": (_SHARING + "        replicas: 1\n", 6),
}


def _namespaced(kind_doc: str, path: str) -> Files:
    return {path: kind_doc}


SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: registry-token
  namespace: team-research
stringData:
  token: ghp_notARealTokenButLooksLikeOne
"""

# A blog's v1beta1 LocalQueue (deprecated: a warning by itself) naming a ClusterQueue that
# the repository, which defines its ClusterQueues, does not have.
KUEUE_V1BETA1 = """\
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata:
  name: legacy
  namespace: team-research
spec:
  clusterQueue: research-cq
"""

DEPLOYMENT_BAD_REPLICAS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-research
spec:
  replicas: three
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
"""

POOL_UNKNOWN_FIELD = (EXAMPLE / "pools/t4-notebooks.yaml").read_text(encoding="utf-8").replace(
    "  nodes: 4\n", "  nodes: 4\n  autoscale: true\n"
)
T4_WITH_MIG = (EXAMPLE / "pools/t4-notebooks.yaml").read_text(encoding="utf-8").replace(
    "  nodes: 4\n", "  nodes: 4\n  mig:\n    config: all-balanced\n    strategy: mixed\n"
)


QUOTAS = "quotas/resource-quotas.yaml"


def _text(relative: str) -> str:
    return (EXAMPLE / relative).read_text(encoding="utf-8")


def _settings_line() -> int:
    return len(_text("gpuctl.yaml").rstrip("\n").splitlines()) + 1


H100_POOL = "pools/h100-inference.yaml"
# Pool-level MIG mistakes on the H100 pool: (name, rule, line to report, replaced, replacement).
_POOL_MIG_CASES = [
    ("mig-config-missing", "mig-config-unknown", "config: all-balanced",
     "config: all-balanced", "config: all-balancd"),
    ("mig-single-strategy-mixed-layout", "mig-single-strategy", "strategy: mixed",
     "strategy: mixed", "strategy: single"),
    ("mig-strategy-mismatch", "mig-strategy-mismatch", "config: mig-mixed",
     "strategy: mixed", "strategy: none"),
]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CASES: list[HostileCase] = [
    # ---------------------------------------------------------------- reading files
    HostileCase("billion-laughs", "yaml-alias-expansion", "bad/laughs.yaml", 9,
                _fixed({"bad/laughs.yaml": LAUGHS})),
    HostileCase("recursive-alias", "yaml-recursive-alias", "bad/loop.yaml", 2,
                _fixed({"bad/loop.yaml": "a: &x\n  b: *x\n"})),
    HostileCase("fifty-megabyte-file", "file-too-large", "big/huge.yaml", 1, _fifty_megabytes),
    HostileCase("hundred-thousand-documents", "too-many-documents", "many/docs.yaml", None,
                _hundred_thousand_documents),
    HostileCase("deep-nesting", "yaml-too-deep", "deep/nested.yaml", 7, _deep_nesting),
    HostileCase("duplicate-key", "yaml-duplicate-key", "bad/dup.yaml", 7,
                _fixed({"bad/dup.yaml": configmap("dup") + "kind: Secret\n"})),
    HostileCase("non-utf8", "file-not-utf8", "bad/latin1.yaml", 7,
                _fixed({"bad/latin1.yaml": configmap("latin").encode() + b"# caf\xe9\n"})),
    HostileCase("symlink-absolute-outside", "symlink-escapes-root", "leak.yaml", 1,
                _fixed({"leak.yaml": Symlink("/etc/passwd")})),
    HostileCase("symlink-dotdot-path", "symlink-escapes-root", "cluster/up.yaml", 1,
                _fixed({"cluster/up.yaml": Symlink("../../../outside.yaml")})),
    HostileCase("tab-indentation", "yaml-syntax", "bad/tabs.yaml", 4,
                _fixed({"bad/tabs.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n"})),
    HostileCase("json-array-document", "document-not-mapping", "bad/list.json.yaml", 1,
                _fixed({"bad/list.json.yaml": '[{"apiVersion": "v1", "kind": "ConfigMap"}]\n'})),
    HostileCase("json-document-unknown-field", "k8s-schema", "bad/obj.yaml", 1,
                _fixed({"bad/obj.yaml": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": '
                        '{"name": "j", "namespace": "team-research"}, "dta": {"k": "v"}}\n'})),
    HostileCase("python-object-tag", "yaml-unsupported-tag", "bad/tag.yaml", 6,
                _fixed({"bad/tag.yaml": configmap("tag", data="!!python/object/apply:os.system [id]")})),
    HostileCase("complex-key", "yaml-complex-key", "bad/key.yaml", 1,
                _fixed({"bad/key.yaml": "? [a, b]\n: c\n"})),
    HostileCase("settings-unknown-field", "settings-invalid", "gpuctl.yaml", _settings_line(),
                _fixed({"gpuctl.yaml": (EXAMPLE / "gpuctl.yaml").read_text(encoding="utf-8")
                        + "exec: rm -rf /\n"})),
    # ---------------------------------------------------------------- documents
    HostileCase("kind-does-not-match-apiversion", "k8s-unknown-kind", "bad/mismatch.yaml", 2,
                _fixed({"bad/mismatch.yaml": configmap("m").replace("v1", "apps/v1", 1)})),
    HostileCase("missing-name", "document-missing-field", "bad/noname.yaml", 3,
                _fixed({"bad/noname.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                        "metadata: {namespace: team-research}\n"})),
    HostileCase("kustomization-remote-base", "kustomize-refused", "kustomization.yaml", 3,
                _fixed({"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                        "kind: Kustomization\nresources: [\"git@github.com:evil/x//base?ref=main\"]\n"})),
    HostileCase("duplicate-object", "duplicate-object", QUOTAS, _line_of(_text(QUOTAS), "apiVersion"),
                _fixed({"bad/again.yaml": _text(QUOTAS)})),
    HostileCase("namespace-outside-allowlist", "namespace-not-allowed", "bad/ns.yaml", 5,
                _fixed({"bad/ns.yaml": configmap("escape", namespace="kube-system")})),
    HostileCase("kind-outside-allowlist", "kind-not-allowed", "cluster/priorityclasses.yaml",
                _line_of((EXAMPLE / "cluster/priorityclasses.yaml").read_text(encoding="utf-8"), "kind:"),
                _fixed({"gpuctl.yaml": (EXAMPLE / "gpuctl.yaml").read_text(encoding="utf-8").replace(
                    "  namespaces:", "  kinds: [Namespace, ConfigMap, ResourceQuota, \"*Queue\", "
                    "ResourceFlavor, ClusterPolicy, RayCluster, PyTorchJob, GPUNodePool, WorkloadProfile, "
                    "Role, RoleBinding, ClusterRole, ClusterRoleBinding, ServiceAccount]\n  namespaces:")})),
    HostileCase("plain-secret", "secret-in-git", "secrets/token.yaml", 6,
                _fixed({"secrets/token.yaml": SECRET})),
    HostileCase("kueue-v1beta1-dangling-queue", "kueue-reference", "quotas/legacy.yaml", 7,
                _fixed({"quotas/legacy.yaml": KUEUE_V1BETA1})),
    # ---------------------------------------------------------------- kinds and schemas
    HostileCase("gpuctl-unknown-kind", "gpuctl-unknown-kind", "bad/pool.yaml", 2,
                _fixed({"bad/pool.yaml": "apiVersion: gpuctl.dev/v1alpha1\nkind: GPUNodePoool\n"
                        "metadata: {name: typo}\nspec: {}\n"})),
    HostileCase("pool-unknown-field", "gpuctl-schema", "pools/t4-notebooks.yaml",
                _line_of(POOL_UNKNOWN_FIELD, "autoscale"),
                _fixed({"pools/t4-notebooks.yaml": POOL_UNKNOWN_FIELD})),
    HostileCase("deployment-wrong-type", "k8s-schema", "bad/deploy.yaml", 7,
                _fixed({"bad/deploy.yaml": DEPLOYMENT_BAD_REPLICAS})),
    HostileCase("invalid-object-name", "k8s-name-invalid", "bad/name.yaml", 4,
                _fixed({"bad/name.yaml": configmap("../../etc")})),
    HostileCase("invalid-label", "k8s-label-invalid", "bad/label.yaml", 5,
                _fixed({"bad/label.yaml": configmap("lbl").replace(
                    "  namespace:", "  labels: {\"bad key!\": x}\n  namespace:")})),
    HostileCase("mig-on-t4", "mig-not-capable", "pools/t4-notebooks.yaml",
                _line_of(T4_WITH_MIG, "config: all-balanced"),
                _fixed({"pools/t4-notebooks.yaml": T4_WITH_MIG})),
    *[
        HostileCase(name, rule, H100_POOL, _line_of(_text(H100_POOL), needle),
                    _fixed({H100_POOL: _text(H100_POOL).replace(old, new)}))
        for name, rule, needle, old, new in _POOL_MIG_CASES
    ],
    *_mig_cases(),
    *[
        HostileCase(f"{rule}-snippet", rule, DEVICE_PLUGIN, _device_plugin_line(offset),
                    _fixed(_device_plugin_with(snippet)))
        for rule, (snippet, offset) in _DEVICE_PLUGIN_SNIPPETS.items()
    ],
]

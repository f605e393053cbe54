"""Loading: hostile YAML limits, encodings, symlinks, positions, settings, and reading a Git
revision's tree without a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.source import RevisionNotFoundError, SourceError, load_directory, load_revision
from reconciler.yamldocs import Origin, parse_documents
from schemas.kinds import Limits
from tests.reconciler.repo_fixtures import RepoLoader, places, write_repo

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\ndata: {k: v}\n"

LAUGHS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: lol, namespace: a}
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

F = "c.yaml"
CASES = [
    pytest.param("yaml-syntax", {F: CONFIGMAP + "  bad: [unclosed\n"}, (F, 5), id="unclosed-flow-sequence"),
    pytest.param("yaml-duplicate-key", {F: CONFIGMAP + "kind: Secret\n"}, (F, 5), id="kind-twice"),
    pytest.param("yaml-alias-expansion", {F: LAUGHS}, (F, 9), id="billion-laughs"),
    pytest.param("yaml-recursive-alias", {F: "a: &x\n  b: *x\n"}, (F, 2), id="anchor-contains-itself"),
    pytest.param(
        "yaml-too-deep",
        {"gpuctl.yaml": "limits: {maxDepth: 4}\n", F: "a:\n b:\n  c:\n   d:\n    e: 1\n"},
        (F, 5),
        id="five-levels-limit-four",
    ),
    pytest.param(
        "yaml-unsupported-tag",
        {F: CONFIGMAP.replace("{k: v}", "!!python/object:os.system {}")},
        (F, 4),
        id="python-object-tag",
    ),
    pytest.param("yaml-complex-key", {F: "? [a, b]\n: c\n"}, (F, 1), id="sequence-as-key"),
    pytest.param(
        "too-many-documents",
        {
            "gpuctl.yaml": "limits: {maxDocuments: 2}\n",
            F: CONFIGMAP
            + "---\n"
            + CONFIGMAP.replace("name: c", "name: d")
            + "---\n"
            + CONFIGMAP.replace("name: c", "name: e"),
        },
        (F, 11),
        id="three-documents-limit-two",
    ),
    pytest.param(
        "file-too-large",
        {"gpuctl.yaml": "limits: {maxFileBytes: 64}\n", F: CONFIGMAP},
        (F, 1),
        id="file-over-64-bytes",
    ),
    pytest.param("file-not-utf8", {F: CONFIGMAP.encode() + b"# caf\xe9\n"}, (F, 5), id="latin-1-byte"),
]


@pytest.mark.parametrize(("rule", "files", "place"), CASES)
def test_hostile_input_is_reported_with_file_and_line(
    load_repo: RepoLoader, rule: str, files: dict[str, str | bytes], place: tuple[str, int]
) -> None:
    """Each hostile or broken file yields a finding of its rule at the expected file:line."""
    result = load_repo(files, base=False)
    assert place in places(result, rule), "\n".join(map(str, result.diagnostics))
    assert not result.ok


def test_billion_laughs_stops_at_the_bound() -> None:
    """Alias expansion stops after the configured number of nodes instead of expanding 9^9."""
    documents, diagnostics = parse_documents(LAUGHS, Origin("x.yaml"), Limits(maxAliasExpansion=500))
    assert documents == [] and [d.rule for d in diagnostics] == ["yaml-alias-expansion"]


def test_pathological_nesting_is_refused_by_the_parser() -> None:
    """100,000 nested brackets are refused as too deep (by libyaml's own bound) without a crash."""
    text = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    documents, diagnostics = parse_documents(text, Origin("x.yaml"), Limits())
    assert documents == [] and [d.rule for d in diagnostics] == ["yaml-too-deep"]


def test_depth_limit_above_the_interpreters_recursion_is_still_a_finding() -> None:
    """A maxDepth raised beyond what Python can recurse yields yaml-too-deep, not a crash."""
    text = "a: " + "[" * 990 + "]" * 990 + "\n"
    documents, diagnostics = parse_documents(text, Origin("x.yaml"), Limits(maxDepth=5000))
    assert documents == [] and [d.rule for d in diagnostics] == ["yaml-too-deep"]


def test_positions_point_at_keys_and_items() -> None:
    """Every mapping key and sequence item gets its 1-based line and column."""
    text = "a:\n  b: 1\n  c:\n    - x\n    - y: 2\n"
    [doc], _ = parse_documents(text, Origin("f.yaml"), Limits())
    assert doc.data == {"a": {"b": 1, "c": ["x", {"y": 2}]}}
    assert (doc.positions["/a/b"].line, doc.positions["/a/b"].col) == (2, 3)
    assert (doc.positions["/a/c/1"].line, doc.positions["/a/c/1"].col) == (5, 7)
    assert doc.positions["/a/c/1/y"].line == 5


def test_empty_documents_are_skipped() -> None:
    """Leading, trailing and repeated `---` separators and comment-only files yield no documents."""
    text = "---\n# comment\n---\na: 1\n---\n---\nb: 2\n---\n"
    documents, diagnostics = parse_documents(text, Origin("f.yaml"), Limits())
    assert [d.data for d in documents] == [{"a": 1}, {"b": 2}] and diagnostics == []
    assert parse_documents("# nothing\n", Origin("f.yaml"), Limits()) == ([], [])


def test_merge_keys_and_yaml_1_1_scalars() -> None:
    """`<<` merges (explicit keys win); yes/on are booleans, timestamps stay strings."""
    text = "base: &b {x: 1, y: 2}\nobj:\n  <<: *b\n  y: 3\n  on: yes\n  when: 2024-01-01\n"
    [doc], diagnostics = parse_documents(text, Origin("f.yaml"), Limits())
    assert diagnostics == []
    assert doc.data["obj"] == {"x": 1, "y": 3, "on": True, "when": "2024-01-01"}


def test_symlink_leaving_the_root_is_an_error(tmp_path: Path) -> None:
    """A symlink to a file outside the repository is reported; one inside is skipped."""
    outside = write_repo(tmp_path / "outside", {"secret.yaml": CONFIGMAP})
    repo = write_repo(tmp_path / "repo", {"a.yaml": CONFIGMAP})
    (repo / "leak.yaml").symlink_to(outside / "secret.yaml")
    (repo / "alias.yaml").symlink_to(repo / "a.yaml")
    result = load_directory(repo)
    assert places(result, "symlink-escapes-root") == [("leak.yaml", 1)]
    assert places(result, "duplicate-object") == []


def test_hidden_files_and_directories_are_skipped(load_repo: RepoLoader) -> None:
    """Tooling YAML such as .github/ workflows and .pre-commit-config.yaml is not desired state."""
    result = load_repo(
        {".github/workflows/ci.yaml": "on: push\n", ".pre-commit-config.yaml": "repos: []\n", F: CONFIGMAP},
        base=False,
    )
    assert result.ok and result.diagnostics == []


def test_list_documents_are_expanded_with_positions(load_repo: RepoLoader) -> None:
    """A v1 List is loaded item by item; findings inside an item point at the item's lines."""
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a, namespace: n}\n"
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: b, namespace: n}\n    dta: {}\n"
    )
    result = load_repo({F: text}, base=False)
    assert places(result, "k8s-schema") == [(F, 10)]
    fixed = load_repo({F: text.replace("    dta: {}\n", "")}, base=False)
    assert fixed.state is not None and [m.ref.name for m in fixed.state.manifests] == ["a", "b"]


def test_ignore_patterns_skip_files(load_repo: RepoLoader) -> None:
    """Files matching gpuctl.yaml `ignore` globs are not loaded."""
    result = load_repo(
        {"gpuctl.yaml": "ignore: ['drafts/*']\n", "drafts/broken.yaml": "a: [\n", F: CONFIGMAP}, base=False
    )
    assert result.ok and result.diagnostics == []


def test_empty_repository_warns(tmp_path: Path) -> None:
    """A directory without documents is valid but says so (a mistyped PATH is easy to miss)."""
    write_repo(tmp_path, {"notes.txt": "hello\n", "empty.yaml": "# nothing yet\n"})
    result = load_directory(tmp_path)
    assert result.ok and places(result, "repository-empty") == [(".", 1)]


def test_missing_directory_raises_source_error(tmp_path: Path) -> None:
    """An unreadable root is an exception (exit 2 in the CLI), not a finding."""
    with pytest.raises(SourceError):
        load_directory(tmp_path / "nope")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A Git repository whose first commit is valid and whose second commit breaks it."""
    repo = tmp_path / "git"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    write_repo(repo, {"state/c.yaml": CONFIGMAP, "README.md": "not yaml\n"})
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "valid")
    write_repo(repo, {"state/c.yaml": CONFIGMAP + "kind: Secret\n"})
    _git(repo, "commit", "-q", "-am", "broken")
    return repo


def test_older_revision_loads_without_checkout(git_repo: Path) -> None:
    """HEAD~1 is read from the Git tree (valid) while the work tree and HEAD are broken."""
    old = load_revision(git_repo, "HEAD~1", "state")
    assert old.ok and old.state is not None
    assert old.state.revision == _git(git_repo, "rev-parse", "HEAD~1")
    assert [m.ref.name for m in old.state.manifests] == ["c"]
    head = load_revision(git_repo, "HEAD", "state")
    assert places(head, "yaml-duplicate-key") == [("c.yaml", 5)]
    assert _git(git_repo, "status", "--porcelain") == ""


def test_unknown_revision_raises(git_repo: Path) -> None:
    """A revision that does not exist raises RevisionNotFoundError."""
    with pytest.raises(RevisionNotFoundError):
        load_revision(git_repo, "no-such-branch")


def test_git_symlink_leaving_the_root_is_an_error(tmp_path: Path) -> None:
    """A symlink blob in the tree pointing above the sub-path is reported."""
    repo = tmp_path / "g"
    repo.mkdir()
    _git(repo, "init", "-q")
    write_repo(repo, {"state/c.yaml": CONFIGMAP, "other.yaml": CONFIGMAP})
    (repo / "state" / "link.yaml").symlink_to("../other.yaml")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.email=t@x.invalid", "-c", "user.name=t", "commit", "-q", "-m", "c")
    result = load_revision(repo, "HEAD", "state")
    assert places(result, "symlink-escapes-root") == [("link.yaml", 1)]

"""Building a kustomization root into the documents the loader consumes.

Called by `reconciler.source.loader` when the loaded directory (or a revision's sub-path) holds
a `kustomization.yaml`, `kustomization.yml` or `Kustomization`. Reading without a checkout stays
true: the kustomizations the root uses are read first (`kustomize_scan`, which refuses remote
bases, Helm charts and plugins), the directories they live in are copied from the tree (disk or
Git commit) into a private temporary directory, built there by the real kustomize
(`kustomize_tool`, with origin annotations), and the directory is removed. Each built object
then gets the positions of the document it came from (`kustomize_origin`), so findings name the
source file; the annotation is gone before anything is applied.

Settings: the build's limits come from the `gpuctl.yaml` file in the root directory (or the
defaults); a gpuctl `Settings` resource in the build (e.g. a base's `gpuctl.yaml`, patched by an
overlay) is the revision's settings.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from reconciler.source.errors import SourceError
from reconciler.source.files import SETTINGS_FILES, RepoFile, containing_repository, is_yaml
from reconciler.source.kustomize_origin import SourceIndex, source_document, to_tree_path
from reconciler.source.kustomize_scan import Closure, DisplayPath, scan
from reconciler.source.kustomize_tool import find_tool, run_build
from reconciler.source.kustomize_tree import DiskTree, GitTree, SourceTree, join, kustomization_file
from reconciler.source.rules import RULE_FILE_SIZE, RULE_SETTINGS, RULE_SYMLINK
from reconciler.validation.pydantic_errors import diagnostics_from_pydantic
from reconciler.yamldocs import Origin, YamlDocument, parse_documents
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import GPUCTL_GROUP, Limits, RepoSettings

RULE_BUILD = "kustomize-build"
RULE_LIMIT = "kustomize-limit"

_SRC, _BUILD, _OUT = "src", "build", "built.yaml"
_QUOTED = re.compile(r"'([^'\s]+)'")
# kustomize's report of the wrapper kustomization failing to accumulate the root: says nothing.
_WRAPPER_LAYER = re.compile(
    r"^accumulating resources: accumulation err='accumulating resources from '\.\./src[^']*': "
    r"'[^']*' must resolve to a file': recursed accumulation of path '[^']*': "
)


@dataclass
class Built:
    """What a build gave the loader: the documents, the settings it carried, and the tool."""

    documents: list[YamlDocument] = field(default_factory=list)
    settings: RepoSettings | None = None
    tool: str = ""


@dataclass(frozen=True)
class KustomizeBuilder:
    """Builds the kustomization in `root` (a path of `tree`) when the loader asks."""

    tree: SourceTree
    root: str

    def __call__(self, settings: RepoSettings, sink: list[Diagnostic]) -> Built:
        display = DisplayPath(self.root)
        closure = scan(self.tree, self.root, display, settings.limits)
        sink.extend(closure.diagnostics)
        if closure.refused:
            return Built()
        tool = find_tool()
        with tempfile.TemporaryDirectory(prefix="gpuctl-kustomize-") as tmp:
            work = Path(tmp)
            too_large = self._materialise(closure, work / _SRC, settings, display, sink)
            if too_large is None:
                return Built(tool=tool.label)
            build_dir = work / _BUILD
            build_dir.mkdir()
            source = posixpath.join("..", _SRC, self.root) if self.root else posixpath.join("..", _SRC)
            (build_dir / "kustomization.yaml").write_text(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"buildMetadata: [originAnnotations]\nresources:\n- {source}\n",
                encoding="utf-8",
            )
            limits = settings.limits
            run = run_build(
                tool, build_dir, work / _OUT, limits.kustomize_timeout_s, limits.kustomize_max_output_bytes
            )
            if run.error:
                message = _clean(run.error, work, display)
                where = _error_place(message, closure, display)
                rule = RULE_LIMIT if run.limit_hit else RULE_BUILD
                sink.append(Diagnostic(where, Severity.ERROR, message, rule))
                sink.extend(_syntax_findings(closure, self.tree, display, limits))
                sink.extend(_missed(too_large, message, display, limits))
                return Built(tool=tool.label)
            text = run.output.decode("utf-8", "replace")
        return self._documents(text, closure, display, settings, sink, tool=tool.label)

    def _materialise(
        self,
        closure: Closure,
        into: Path,
        settings: RepoSettings,
        display: DisplayPath,
        sink: list[Diagnostic],
    ) -> list[RepoFile] | None:
        """Copy the directories of the build's kustomizations. Returns the files left out for
        their size (reported only if the build then misses them), or None if a YAML file is a
        symlink out of the repository (reported, as the plain loader does; others are skipped)."""

        directories = sorted({k.directory for k in closure.kustomizations})
        outer = [d for d in directories if not any(_under(d, other) for other in directories if other != d)]
        escaping, too_large = False, []
        for directory in outer:
            for file in self.tree.files_under(directory):
                if file.escapes_to is not None:
                    if is_yaml(file.path):
                        message = f"symlink points outside the repository root (to {file.escapes_to})"
                        start = SourceLocation(display(file.path), 1, 1)
                        sink.append(Diagnostic(start, Severity.ERROR, message, RULE_SYMLINK))
                        escaping = True
                    continue
                if file.size > settings.limits.max_file_bytes:
                    too_large.append(file)
                    continue
                target = into / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file.read())
        (into / self.root).mkdir(parents=True, exist_ok=True)
        return None if escaping else too_large

    def _documents(
        self,
        text: str,
        closure: Closure,
        display: DisplayPath,
        settings: RepoSettings,
        sink: list[Diagnostic],
        *,
        tool: str,
    ) -> Built:
        root_file = closure.kustomizations[-1].file if closure.kustomizations else self.root
        built_docs, found = parse_documents(text, Origin(display(root_file)), settings.limits)
        sink.extend(found)
        index = SourceIndex(self.tree.read, display, settings.limits, closure.kustomizations, sink)
        to_tree = to_tree_path(_BUILD, _SRC)
        built = Built(tool=tool)
        for built_doc in built_docs:
            if not isinstance(built_doc.data, dict):
                continue
            doc = source_document(built_doc.data, index, to_tree)
            if _is_settings(doc):
                built.settings = _settings(doc, built.settings is not None, sink)
                continue
            built.documents.append(doc)
        if built.settings is not None:
            self._settings_once(display, sink)
        return built

    def _settings_once(self, display: DisplayPath, sink: list[Diagnostic]) -> None:
        """Settings come from the build or from the root's gpuctl.yaml file, not both."""

        for name in SETTINGS_FILES:
            path = posixpath.join(self.root, name) if self.root else name
            if self.tree.kind(path) == "file":
                message = ("settings are given twice: by this file and by a Settings resource of the "
                           "build; keep one (a gpuctl.yaml listed as a kustomize resource)")  # fmt: skip
                sink.append(
                    Diagnostic(SourceLocation(display(path), 1, 1), Severity.ERROR, message, RULE_SETTINGS)
                )


def directory_builder(path: Path) -> KustomizeBuilder | None:
    """A builder for the directory `path` if it is a kustomization root, else None. Bases may
    live anywhere in the Git work tree holding `path` (or, outside Git, anywhere on disk)."""
    if kustomization_file(DiskTree(path), "") is None:
        return None
    try:
        top, relative = containing_repository(path)
    except SourceError:
        resolved = path.resolve()
        top, relative = Path(resolved.anchor), resolved.relative_to(resolved.anchor).as_posix()
    return KustomizeBuilder(DiskTree(top), "" if relative == "." else relative)


def revision_builder(repo_path: Path, sha: str, subpath: str) -> KustomizeBuilder | None:
    """A builder for `subpath` of commit `sha` if it is a kustomization root, else None."""
    tree = GitTree.at(repo_path, sha)
    root = subpath.strip("/")
    if kustomization_file(tree, root) is None:
        return None
    return KustomizeBuilder(tree, root)


def _is_settings(doc: YamlDocument) -> bool:
    data = doc.data
    return str(data.get("apiVersion", "")).split("/", 1)[0] == GPUCTL_GROUP and data.get("kind") == "Settings"


def _settings(doc: YamlDocument, again: bool, sink: list[Diagnostic]) -> RepoSettings | None:
    """A built `Settings` resource (kustomize needs it to have metadata.name; gpuctl ignores it)."""

    if again:
        message = "a second gpuctl Settings resource in the build; keep one gpuctl.yaml per cluster"
        sink.append(Diagnostic(doc.location, Severity.ERROR, message, RULE_SETTINGS))
        return None
    data = {k: v for k, v in doc.data.items() if k != "metadata"}
    try:
        return RepoSettings.model_validate(data)
    except ValidationError as err:

        def position(pointer: str) -> SourceLocation:
            return doc.positions.get(pointer, doc.location)

        sink.extend(diagnostics_from_pydantic(err, data, position, RULE_SETTINGS, subject="gpuctl.yaml"))
        return None


def _missed(
    too_large: list[RepoFile], message: str, display: DisplayPath, limits: Limits
) -> list[Diagnostic]:
    """The files left out for their size that the failed build names."""

    return [
        Diagnostic(
            SourceLocation(display(file.path), 1, 1),
            Severity.ERROR,
            f"file is {file.size} bytes, over the limit of {limits.max_file_bytes} "
            "(limits.maxFileBytes in gpuctl.yaml)",
            RULE_FILE_SIZE,
        )
        for file in too_large
        if posixpath.basename(file.path) in message
    ]


def _under(path: str, directory: str) -> bool:
    return directory == "" or path.startswith(directory + "/")


def _clean(message: str, work: Path, display: DisplayPath) -> str:
    """kustomize's message without the wrapper's layer, its private paths as repository paths."""
    message = _WRAPPER_LAYER.sub("", message, count=1)
    for src in (re.escape(str(work / _SRC)), re.escape(f"../{_SRC}")):
        message = re.sub(src + r"(?:/([^\s'\":]*))?", lambda m: display(m.group(1) or ""), message)
    return message.replace(str(work / _BUILD), ".").replace(str(work), ".")


def _syntax_findings(
    closure: Closure, tree: SourceTree, display: DisplayPath, limits: Limits
) -> list[Diagnostic]:
    """After a failed build: our own YAML findings (with their lines) in the resource files the
    kustomizations name, which kustomize reports without a position."""
    found: list[Diagnostic] = []
    for k in closure.kustomizations:
        entries = k.doc.data.get("resources")
        for entry in entries if isinstance(entries, list) else []:
            path = join(k.directory, entry) if isinstance(entry, str) else None
            raw = tree.read(path) if path is not None and is_yaml(path) else None
            if path is not None and raw is not None:
                text = raw.decode("utf-8", "replace")
                found.extend(parse_documents(text, Origin(display(path)), limits)[1])
    return found


def _error_place(message: str, closure: Closure, display: DisplayPath) -> SourceLocation:
    """The kustomization line naming what the message quotes last (the innermost failure),
    else the root kustomization's first line."""
    tokens = [t.rsplit("/", 1)[-1] for t in _QUOTED.findall(message)]
    for token in reversed([t for t in tokens if t not in ("", ".", "..")]):
        for k in closure.kustomizations:
            for number, line in enumerate(k.text.splitlines(), start=1):
                if re.search(r"(^|[\s\[,:-])" + re.escape(token) + r"\s*($|[\],#])", line):
                    return SourceLocation(display(k.file), number, 1)
    if closure.kustomizations:
        return SourceLocation(display(closure.kustomizations[-1].file), 1, 1)
    return SourceLocation("kustomization.yaml", 1, 1)

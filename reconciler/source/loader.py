"""Loading a desired-state repository (a directory, or a Git revision's tree) into a
validated `DesiredState`.

Upstream: the CLI (`gpuctl validate/render`) and the reconcile loop. Downstream: `files`
(listing), `yamldocs` (parsing with positions and limits), `documents` (basic checks and gpuctl
kinds) and `reconciler.validation` (every semantic rule). All-or-nothing: a result carries a
state only when no rule reported an error; warnings do not block.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from reconciler.source.documents import classify, expand_lists
from reconciler.source.files import (
    SETTINGS_FILES,
    RepoFile,
    containing_repository,
    directory_files,
    git_tree_files,
)
from reconciler.source.kustomize import KustomizeBuilder, directory_builder, revision_builder
from reconciler.source.rules import RULE_EMPTY, RULE_FILE_SIZE, RULE_NOT_UTF8, RULE_SETTINGS, RULE_SYMLINK
from reconciler.validation import validate_state
from reconciler.validation.pydantic_errors import diagnostics_from_pydantic
from reconciler.yamldocs import RULE_DOCUMENTS, Origin, YamlDocument, parse_documents
from schemas.desired import DesiredState
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import Limits, RepoSettings


@dataclass
class LoadResult:
    """The outcome of loading: a state only when valid, and every finding, sorted."""

    state: DesiredState | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state is not None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def load_directory(path: Path, *, settings_override: RepoSettings | None = None) -> LoadResult:
    """Load and validate every YAML file under `path` (or, if `path` is a kustomization root,
    what kustomize builds from it). Raises `SourceError` if unreadable."""
    return load_files(
        directory_files(path),
        root=str(path),
        revision=None,
        settings_override=settings_override,
        builder=directory_builder(path),
    )


def load_revision(
    repo_path: Path, revision: str, subpath: str = "", *, settings_override: RepoSettings | None = None
) -> LoadResult:
    """Load and validate `subpath` of the tree at `revision` of the Git repository at
    `repo_path`, without checking it out. Raises `SourceError` / `RevisionNotFoundError`."""
    sha, files = git_tree_files(repo_path, revision, subpath)
    root = f"{repo_path}/{subpath}".rstrip("/") if subpath else str(repo_path)
    builder = revision_builder(repo_path, sha, subpath)
    return load_files(files, root=root, revision=sha, settings_override=settings_override, builder=builder)


def load_path_at_revision(
    path: Path, revision: str, *, settings_override: RepoSettings | None = None
) -> LoadResult:
    """Load `revision` of the Git repository containing `path`, restricted to `path`'s sub-path
    (what `gpuctl validate PATH --revision REV` means)."""
    top, subpath = containing_repository(path)
    return load_revision(top, revision, subpath, settings_override=settings_override)


def load_files(
    files: list[RepoFile],
    *,
    root: str,
    revision: str | None,
    settings_override: RepoSettings | None = None,
    builder: KustomizeBuilder | None = None,
) -> LoadResult:
    """Load already-listed repository files (the common part of both loaders); with a
    `builder` (a kustomization root), the documents are what kustomize builds instead."""
    diagnostics: list[Diagnostic] = []
    settings = settings_override
    by_path = {f.path: f for f in files}
    if settings is None:
        settings = _read_settings(by_path, diagnostics)
    built = builder(settings, diagnostics) if builder is not None else None
    if built is not None and built.settings is not None and settings_override is None:
        settings = built.settings
    documents = built.documents if built is not None else _parse_files(files, settings, diagnostics)
    if not documents and not diagnostics:
        diagnostics.append(
            Diagnostic(
                SourceLocation(".", 1, 1),
                Severity.WARNING,
                "no Kubernetes or gpuctl documents found (no *.yaml/*.yml files with content)",
                RULE_EMPTY,
            )
        )
    state = DesiredState(root=root, revision=revision, settings=settings)
    state.built_with = built.tool if built is not None else None
    for doc in (item for document in documents for item in expand_lists(document)):
        classified, found = classify(doc)
        diagnostics.extend(found)
        if classified.manifest is None:
            continue
        ref = classified.manifest.ref
        if classified.pool is not None:
            state.pools.append(classified.pool)
            state.locations[ref] = doc.location
        elif classified.workload is not None:
            state.workloads.append(classified.workload)
            state.locations[ref] = doc.location
        state.manifests.append(classified.manifest)
    outcome = validate_state(state)
    diagnostics.extend(outcome.diagnostics)
    state.mig_parted = outcome.mig_parted
    state.device_plugin = outcome.device_plugin
    state.gpu_operator_configs = outcome.gpu_operator_configs
    # gpuctl kinds are described by pools/workloads; manifests keeps only what is applied.
    state.manifests = [m for m in state.manifests if m.ref.group != "gpuctl.dev"]
    diagnostics.sort()
    has_error = any(d.severity is Severity.ERROR for d in diagnostics)
    return LoadResult(None if has_error else state, diagnostics)


def _read_settings(by_path: dict[str, RepoFile], sink: list[Diagnostic]) -> RepoSettings:
    for name in SETTINGS_FILES:
        file = by_path.get(name)
        if file is None:
            continue
        docs = _parse_one(file, Limits(), sink, max_documents=1)
        if not docs:
            return RepoSettings()
        try:
            return RepoSettings.model_validate(docs[0].data)
        except ValidationError as err:
            doc = docs[0]

            def position(pointer: str, doc: YamlDocument = doc) -> SourceLocation:
                return doc.positions.get(pointer, doc.location)

            sink.extend(diagnostics_from_pydantic(err, doc.data, position, RULE_SETTINGS, subject=name))
            return RepoSettings()
    return RepoSettings()


def _ignored(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/"):
            return True
    return False


def _parse_files(files: list[RepoFile], settings: RepoSettings, sink: list[Diagnostic]) -> list[YamlDocument]:
    documents: list[YamlDocument] = []
    for file in files:
        if file.path in SETTINGS_FILES or _ignored(file.path, settings.ignore):
            continue
        remaining = settings.limits.max_documents - len(documents)
        found: list[Diagnostic] = []
        documents.extend(_parse_one(file, settings.limits, found, max_documents=remaining))
        sink.extend(found)
        if any(d.rule == RULE_DOCUMENTS for d in found):
            break  # the repository is over its document limit; stop reading
    return documents


def _parse_one(
    file: RepoFile, limits: Limits, sink: list[Diagnostic], max_documents: int
) -> list[YamlDocument]:
    start = SourceLocation(file.path, 1, 1)
    if file.escapes_to is not None:
        sink.append(
            Diagnostic(
                start,
                Severity.ERROR,
                f"symlink points outside the repository root (to {file.escapes_to})",
                RULE_SYMLINK,
            )
        )
        return []
    if file.size > limits.max_file_bytes:
        sink.append(
            Diagnostic(
                start,
                Severity.ERROR,
                f"file is {file.size} bytes, over the limit of {limits.max_file_bytes} "
                "(limits.maxFileBytes in gpuctl.yaml)",
                RULE_FILE_SIZE,
            )
        )
        return []
    raw = file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        sink.append(
            Diagnostic(
                SourceLocation(file.path, line, col),
                Severity.ERROR,
                f"not UTF-8: byte 0x{raw[err.start]:02x} cannot be decoded; save the file as UTF-8",
                RULE_NOT_UTF8,
            )
        )
        return []
    documents, found = parse_documents(text, Origin(file.path), limits, max_documents=max_documents)
    sink.extend(found)
    return documents

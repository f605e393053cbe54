"""`gpuctl apply` under `gpuctl.yaml` `verify`: the content to apply must be a commit signed
by one of the policy's keys (`--revision REV`, or the clean checkout PATH is in); uncommitted
or unsigned content is refused with exit 2 before anything is written."""

from __future__ import annotations

from pathlib import Path

import typer

from gpuctl.cli.cluster_options import fail
from reconciler.source.files import containing_repository
from reconciler.source.signatures import UnverifiedCommitError, verify_commit
from schemas.kinds import CommitVerification
from schemas.results import RevisionInfo


def require_signed(path: Path, revision: RevisionInfo, policy: CommitVerification | None) -> None:
    """Return if there is no policy or the commit is signed by a trusted key; else exit 2."""
    if policy is None:
        return
    sha = revision.sha
    if sha == "working-tree" or sha.endswith("-dirty"):
        raise fail(
            "gpuctl.yaml verify requires signed commits, and PATH holds uncommitted changes or is "
            "not in Git; commit them, or give --revision; nothing was applied"
        )
    top, _ = containing_repository(path)
    try:
        verified = verify_commit(top, sha, policy.keys)
    except (UnverifiedCommitError, ValueError) as exc:
        raise fail(f"signature check failed, nothing was applied: {exc}") from exc
    typer.echo(f"commit {sha[:12]} signed by {verified.kind} key {verified.key}", err=True)

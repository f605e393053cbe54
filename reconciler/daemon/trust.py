"""Which revisions the daemon trusts enough to apply, under `gpuctl.yaml` `verify`.

The policy that judges a revision is the one of the last revision that passed (a chain of
trust): once a verified revision has asked for signatures, a later commit cannot switch them
off or add its own key unless it is itself signed by a key trusted so far. Before any revision
has passed (at start), the candidate's own policy applies. A working tree has no commit to
verify, so with a policy in force it is refused.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from reconciler.source.signatures import UnverifiedCommitError, verify_commit
from schemas.kinds import CommitVerification

log = structlog.get_logger("gpuctl.daemon.trust")

_UNSET = object()


class CommitTrust:
    """Verifies revisions of one repository and remembers the policy of the last one that passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policy: CommitVerification | object | None = _UNSET

    def rejection(
        self, repo: Path, sha: str | None, candidate: CommitVerification | None
    ) -> str | None:
        """Why the revision must not be applied (None: it may). `sha` is None for a working tree."""
        with self._lock:
            policy = candidate if self._policy is _UNSET else self._policy
        if not isinstance(policy, CommitVerification):
            self._passed(candidate)
            return None
        if sha is None:
            return "gpuctl.yaml verify requires signed commits; a working tree cannot be verified"
        try:
            verified = verify_commit(repo, sha, policy.keys)
        except (UnverifiedCommitError, ValueError) as exc:
            return f"signature check failed, nothing applied: {exc}"
        log.info("commit signature verified", revision=sha, kind=verified.kind, key=verified.key)
        self._passed(candidate)
        return None

    def precheck(self, repo: Path, sha: str) -> str | None:
        """Before the revision is even read: why it must not be loaded, when a policy is in force
        (so an untrusted committer's files never reach the YAML parser). None: load it."""
        with self._lock:
            policy = self._policy
        if not isinstance(policy, CommitVerification):
            return None
        try:
            verify_commit(repo, sha, policy.keys)
        except (UnverifiedCommitError, ValueError) as exc:
            return f"signature check failed, nothing applied: {exc}"
        return None

    def _passed(self, candidate: CommitVerification | None) -> None:
        with self._lock:
            self._policy = candidate

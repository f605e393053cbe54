"""Commit signature verification with real keys (gpg, ssh-keygen) and real signed commits:
trusted signatures pass; unsigned commits, other keys and the other signature format fail;
the daemon's chain of trust keeps a policy that a verified revision set."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sandbox
from gpuctl.cli import app
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import WorkItem
from reconciler.daemon.runner import PipelineRunner
from reconciler.daemon.trust import CommitTrust
from reconciler.source import load_directory
from reconciler.source.signatures import UnverifiedCommitError, key_kind, verify_commit
from schemas.kinds import CommitVerification
from schemas.results import ReconcileOutcome, Trigger
from tests.hostile.corpus import EXAMPLE
from tests.reconciler.e2e.engine_kit import example_state
from tests.security.signing import SigningKey, commit, init, openpgp_key, ssh_key, verify_block


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    base = tmp_path_factory.mktemp("keys")
    return {
        "pgp": openpgp_key(base, "trusted"),
        "pgp-other": openpgp_key(base, "stranger"),
        "ssh": ssh_key(base, "trusted"),
        "ssh-other": ssh_key(base, "stranger"),
    }


@pytest.mark.parametrize("kind", ["pgp", "ssh"])
def test_commit_signed_by_a_trusted_key_is_verified(tmp_path: Path, keys, kind: str) -> None:
    """A commit signed with a configured OpenPGP or SSH key verifies, naming the key."""
    repo = init(tmp_path / "repo")
    sha = commit(repo, {"a.yaml": "a: 1\n"}, "signed", keys[kind])
    verified = verify_commit(repo, sha, [keys[kind].public])
    assert verified.sha == sha and verified.kind == keys[kind].kind and verified.key


@pytest.mark.parametrize("kind", ["pgp", "ssh"])
def test_commit_signed_by_another_key_is_refused(tmp_path: Path, keys, kind: str) -> None:
    """A valid signature by a key that is not configured is refused as untrusted."""
    repo = init(tmp_path / "repo")
    sha = commit(repo, {"a.yaml": "a: 1\n"}, "signed by a stranger", keys[f"{kind}-other"])
    with pytest.raises(UnverifiedCommitError, match="not signed by a trusted"):
        verify_commit(repo, sha, [keys[kind].public])


def test_unsigned_commit_is_refused(tmp_path: Path, keys) -> None:
    """An unsigned commit is refused when keys are configured."""
    repo = init(tmp_path / "repo")
    sha = commit(repo, {"a.yaml": "a: 1\n"}, "unsigned")
    with pytest.raises(UnverifiedCommitError, match="is not signed"):
        verify_commit(repo, sha, [keys["ssh"].public, keys["pgp"].public])


def test_signature_of_the_other_format_is_refused(tmp_path: Path, keys) -> None:
    """An SSH-signed commit does not pass when only OpenPGP keys are trusted."""
    repo = init(tmp_path / "repo")
    sha = commit(repo, {"a.yaml": "a: 1\n"}, "ssh signed", keys["ssh"])
    with pytest.raises(UnverifiedCommitError, match="no ssh key is trusted"):
        verify_commit(repo, sha, [keys["pgp"].public])


def test_tampered_commit_is_refused(tmp_path: Path, keys) -> None:
    """A commit whose content was changed after signing (signature copied over) fails."""
    repo = init(tmp_path / "repo")
    sha = commit(repo, {"a.yaml": "a: 1\n"}, "signed", keys["ssh"])
    raw = subprocess.run(["git", "-C", str(repo), "cat-file", "commit", sha], capture_output=True,
                         check=True).stdout.replace(b"signed\n", b"evil\n")  # fmt: skip
    forged = subprocess.run(["git", "-C", str(repo), "hash-object", "-t", "commit", "-w", "--stdin"],
                            input=raw, capture_output=True, check=True).stdout.decode().strip()  # fmt: skip
    assert forged != sha
    with pytest.raises(UnverifiedCommitError):
        verify_commit(repo, forged, [keys["ssh"].public])


def test_malformed_revision_and_keys_are_refused(tmp_path: Path, keys) -> None:
    """A revision that is not a full SHA, and a key that is neither format, are rejected."""
    repo = init(tmp_path / "repo")
    commit(repo, {"a.yaml": "a: 1\n"}, "x", keys["ssh"])
    with pytest.raises(UnverifiedCommitError, match="not a full commit SHA"):
        verify_commit(repo, "HEAD; rm -rf /", [keys["ssh"].public])
    with pytest.raises(ValueError, match="OpenPGP public key block or one OpenSSH"):
        key_kind("ssh-ed25519 AAAA\nssh-rsa BBBB")


def test_trust_chain_keeps_the_policy_of_the_last_verified_revision(tmp_path: Path, keys) -> None:
    """Once a verified revision asks for signatures, an unsigned commit cannot drop the policy
    and a stranger cannot add their own key; a trusted signer can rotate keys."""
    repo = init(tmp_path / "repo")
    trusted = CommitVerification(keys=[keys["ssh"].public])
    rotated = CommitVerification(keys=[keys["ssh"].public, keys["pgp-other"].public])
    trust = CommitTrust()
    first = commit(repo, {"a.yaml": "a: 1\n"}, "signed", keys["ssh"])
    assert trust.rejection(repo, first, trusted) is None
    dropped = commit(repo, {"a.yaml": "a: 2\n"}, "unsigned, verify removed")
    assert "is not signed" in (trust.rejection(repo, dropped, None) or "")
    hijack = commit(repo, {"a.yaml": "a: 3\n"}, "stranger adds own key", keys["pgp-other"])
    assert "no openpgp key is trusted" in (trust.rejection(repo, hijack, rotated) or "")
    rotation = commit(repo, {"a.yaml": "a: 4\n"}, "trusted signer adds a key", keys["ssh"])
    assert trust.rejection(repo, rotation, rotated) is None
    after = commit(repo, {"a.yaml": "a: 5\n"}, "new key signs", keys["pgp-other"])
    assert trust.rejection(repo, after, rotated) is None
    assert "working tree" in (trust.rejection(repo, None, rotated) or "")


@pytest.mark.slow
def test_runner_applies_signed_and_rejects_unsigned_revisions(tmp_path: Path, keys) -> None:
    """With gpuctl.yaml verify, the daemon's runner applies a signed commit and rejects an
    unsigned one as invalid, writing nothing for it; gpuctl apply refuses the unsigned
    checkout (exit 2) and applies the signed revision."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    init(repo)
    settings = (repo / "gpuctl.yaml").read_text() + verify_block(keys["ssh"], keys["pgp"])
    assert load_directory(repo).ok
    signed = commit(repo, {"gpuctl.yaml": settings}, "signed desired state", keys["pgp"])
    with sandbox.start(sandbox.SandboxSpec.from_state(example_state())) as cluster:
        client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
        try:
            runner = PipelineRunner(RepoLocation(repo, "", False), client, None)
            first = runner.reconcile(WorkItem(signed, Trigger.STARTUP), lambda: False)
            assert first.outcome is ReconcileOutcome.SUCCEEDED, first.error
            quota = (repo / "quotas/resource-quotas.yaml").read_text().replace('pods: "64"', 'pods: "999"')
            unsigned = commit(repo, {"quotas/resource-quotas.yaml": quota}, "unsigned change")
            before = cluster.write_count
            report = runner.reconcile(WorkItem(unsigned, Trigger.COMMIT), lambda: False)
            assert report.outcome is ReconcileOutcome.INVALID and "is not signed" in (report.error or "")
            assert cluster.write_count == before
            live = client.get("v1", "ResourceQuota", "gpu-cap", "team-research")
            assert live is not None and live["spec"]["hard"]["pods"] == "64"
            # With the policy in force, an unsigned commit is refused before its files are parsed.
            broken = commit(repo, {"bad.yaml": "a: [unclosed\n"}, "unsigned broken YAML")
            report = runner.reconcile(WorkItem(broken, Trigger.COMMIT), lambda: False)
            assert report.outcome is ReconcileOutcome.INVALID
            assert "is not signed" in (report.error or "") and "yaml-syntax" not in (report.error or "")
            (repo / "bad.yaml").unlink()
            commit(repo, {}, "remove the broken file")
            # gpuctl apply: the unsigned checkout is refused, the signed revision is applied.
            audit = ["--sandbox", str(cluster.kubeconfig_path), "--audit-db", str(tmp_path / "a.db")]
            refused = CliRunner().invoke(app, ["apply", str(repo), *audit])
            assert refused.exit_code == 2 and "is not signed" in refused.output
            assert cluster.write_count == before
            accepted = CliRunner().invoke(app, ["apply", str(repo), "--revision", signed, *audit])
            assert accepted.exit_code == 0, accepted.output
            assert f"commit {signed[:12]} signed by openpgp key" in accepted.output
        finally:
            client.close()

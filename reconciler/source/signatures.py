"""Commit signature verification (`gpuctl.yaml` `verify: {mode: head, keys: [...]}`).

The commit a revision points at must be signed by one of the trusted public keys: OpenPGP
keys (ASCII-armored blocks, checked with gpg in a throw-away keyring holding only those keys)
or OpenSSH public keys (checked with ssh-keygen through an allowed-signers file holding only
those keys). Git itself does the checking (`git verify-commit`), with every signing setting
given on its command line so that no user or repository configuration changes the outcome.
Commands are argument lists, never shell strings; the revision is a full SHA resolved first.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reconciler.source.errors import SourceError

_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_PGP_BLOCK = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
_SSH_KEY = re.compile(
    r"^(?:ssh-(?:ed25519|rsa)|ecdsa-sha2-nistp(?:256|384|521)|sk-\S+)\s+[A-Za-z0-9+/=]+(?:\s.*)?$"
)
_VALIDSIG = re.compile(r"^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})", re.M)
_SSH_GOOD = re.compile(r'^Good "git" signature for \S+ with (\S+) key (\S+)', re.M)
_TIMEOUT_S = 30.0


class UnverifiedCommitError(SourceError):
    """The commit is unsigned, or signed by a key that is not trusted (terminal)."""


@dataclass(frozen=True)
class Verified:
    sha: str
    kind: str  # "openpgp" or "ssh"
    key: str  # the OpenPGP fingerprint or the SSH key fingerprint


def key_kind(key: str) -> str:
    """`openpgp` or `ssh` for one configured key; ValueError for anything else."""
    text = key.strip()
    if text.startswith(_PGP_BLOCK):
        return "openpgp"
    if _SSH_KEY.match(text) and "\n" not in text:
        return "ssh"
    raise ValueError("a key must be an ASCII-armored OpenPGP public key block or one OpenSSH public key line")


def verify_commit(repo: Path, sha: str, keys: list[str]) -> Verified:
    """Check that commit `sha` of the repository at `repo` is signed by one of `keys`."""
    if not _SHA.match(sha):
        raise UnverifiedCommitError(f"{sha!r} is not a full commit SHA")
    kinds = {key_kind(key) for key in keys}
    signature = _signature_kind(repo, sha)
    if signature is None:
        raise UnverifiedCommitError(f"commit {sha[:12]} is not signed; gpuctl.yaml verify requires it")
    if signature not in kinds:
        raise UnverifiedCommitError(
            f"commit {sha[:12]} has an {signature} signature but no {signature} key is trusted"
        )
    trusted = [key.strip() for key in keys if key_kind(key) == signature]
    with tempfile.TemporaryDirectory(prefix="gpuctl-verify-") as scratch:
        if signature == "openpgp":
            return _verify_openpgp(repo, sha, trusted, Path(scratch))
        return _verify_ssh(repo, sha, trusted, Path(scratch))


def _signature_kind(repo: Path, sha: str) -> str | None:
    header = _git(repo, ["cat-file", "commit", sha], {}).stdout
    head = header.split("\n\n", 1)[0]
    if "gpgsig -----BEGIN PGP SIGNATURE-----" in head:
        return "openpgp"
    if "gpgsig -----BEGIN SSH SIGNATURE-----" in head:
        return "ssh"
    if "gpgsig" in head or "gpgsig-sha256" in head:
        return "unsupported"
    return None


def _verify_openpgp(repo: Path, sha: str, keys: list[str], scratch: Path) -> Verified:
    home = scratch / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    for key in keys:
        _run(["gpg", "--batch", "--quiet", "--import"], env, stdin=key)
    result = _git(repo, ["-c", "gpg.program=gpg", "verify-commit", "--raw", sha], env, check=False)
    found = _VALIDSIG.search(result.stderr)
    if result.returncode != 0 or found is None:
        raise UnverifiedCommitError(f"commit {sha[:12]} is not signed by a trusted OpenPGP key")
    return Verified(sha, "openpgp", found.group(1))


def _verify_ssh(repo: Path, sha: str, keys: list[str], scratch: Path) -> Verified:
    allowed = scratch / "allowed_signers"
    allowed.write_text("".join(f"gpuctl-trusted {' '.join(key.split()[:2])}\n" for key in keys))
    settings = ["-c", "gpg.ssh.program=ssh-keygen", "-c", f"gpg.ssh.allowedSignersFile={allowed}",
                "-c", "gpg.ssh.revocationFile="]  # fmt: skip
    result = _git(repo, [*settings, "verify-commit", sha], {}, check=False)
    found = _SSH_GOOD.search(result.stderr + result.stdout)
    if result.returncode != 0 or found is None:
        raise UnverifiedCommitError(f"commit {sha[:12]} is not signed by a trusted SSH key")
    return Verified(sha, "ssh", found.group(2))


def _git(
    repo: Path, args: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return _run(["git", "-C", str(repo), *args], env, check=check)


def _run(
    command: list[str], env: dict[str, str], *, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    # No user or system Git configuration: only the settings given on the command line count.
    isolated = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **env}
    try:
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=isolated,
            timeout=_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnverifiedCommitError(f"cannot verify signatures: {command[0]}: {exc}") from exc
    if check and result.returncode != 0:
        raise UnverifiedCommitError(f"{command[0]} {command[-1]} failed: {result.stderr.strip()[:300]}")
    return result

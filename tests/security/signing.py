"""Real signing keys and signed commits for the signature tests: an OpenPGP key made with gpg
in a throw-away keyring, an SSH key made with ssh-keygen, and commits signed by `git commit -S`."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTITY = ["-c", "user.name=Signer", "-c", "user.email=signer@example.invalid"]


@dataclass(frozen=True)
class SigningKey:
    kind: str  # "openpgp" or "ssh"
    public: str  # what goes into gpuctl.yaml verify.keys
    git_config: tuple[str, ...]  # `git -c` settings that make `git commit -S` use this key
    env: dict[str, str]


def _run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    isolated = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **(env or {})}
    return subprocess.run(command, cwd=cwd, env=isolated, check=True, capture_output=True, text=True).stdout


def openpgp_key(directory: Path, name: str = "Signer") -> SigningKey:
    """A new ed25519 OpenPGP signing key (no passphrase) in its own GNUPGHOME under `directory`."""
    home = directory / f"gnupg-{name}"
    home.mkdir(mode=0o700, parents=True)
    env = {"GNUPGHOME": str(home)}
    _run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.invalid>",
          "ed25519", "sign", "never"], env=env)  # fmt: skip
    colons = _run(["gpg", "--list-keys", "--with-colons"], env=env)
    fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr"))
    public = _run(["gpg", "--armor", "--export", fingerprint], env=env)
    config = ("-c", "gpg.format=openpgp", "-c", f"user.signingkey={fingerprint}")
    return SigningKey("openpgp", public, config, env)


def ssh_key(directory: Path, name: str = "signer") -> SigningKey:
    """A new ed25519 SSH key (no passphrase) under `directory`."""
    path = directory / f"id-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)])
    public = path.with_suffix(".pub").read_text().strip()
    config = ("-c", "gpg.format=ssh", "-c", f"user.signingkey={path}")
    return SigningKey("ssh", public, config, {})


def commit(repo: Path, files: dict[str, str], message: str, key: SigningKey | None = None) -> str:
    """Write `files`, commit them (signed with `key` when given) and return the SHA."""
    for relative, text in files.items():
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)
    _run(["git", "add", "-A"], cwd=repo)
    signing = [*key.git_config, "commit", "-S"] if key is not None else ["commit"]
    _run(["git", *IDENTITY, *signing, "-q", "-m", message], cwd=repo, env=key.env if key else None)
    return _run(["git", "rev-parse", "HEAD"], cwd=repo).strip()


def init(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    _run(["git", "init", "-q", "-b", "main", str(repo)])
    return repo


def verify_block(*keys: SigningKey) -> str:
    """The gpuctl.yaml `verify` block trusting `keys`."""
    lines = ["verify:", "  mode: head", "  keys:"]
    for key in keys:
        lines.append("    - |")
        lines.extend(f"      {line}" for line in key.public.strip().splitlines())
    return "\n".join(lines) + "\n"

"""What the gpuctl image is, in one place for the Docker-less build (`deploy/build-image.sh`),
and the same facts read from `deploy/Dockerfile`, the source of truth for users with Docker:
the user, the entrypoint and command, the Python version, the Debian packages, the Python
packages installed, the environment and the port. `tests/deploy/test_image_spec.py` checks that
the two agree."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


class DockerfileError(ValueError):
    """`deploy/Dockerfile` lacks a fact the image build needs, or states it unreadably."""


@dataclass(frozen=True)
class ImageFacts:
    """The facts of an image that matter to the Pod running it."""

    python_version: str
    uid: int
    gid: int
    user_name: str
    home: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    apt_packages: tuple[str, ...]
    python_packages: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    exposed_ports: tuple[str, ...]
    sources: tuple[str, ...]


# The Docker-less build: Debian bookworm's python3 is 3.11, like the Dockerfile's python:3.11-slim.
GPUCTL_IMAGE = ImageFacts(
    python_version="3.11",
    uid=65532,
    gid=65532,
    user_name="gpuctl",
    home="/tmp",
    entrypoint=("gpuctl",),
    cmd=("run", "--in-cluster"),
    apt_packages=("ca-certificates", "git", "openssh-client"),
    python_packages=("gpuctl",),
    env=(("HOME", "/tmp"), ("PYTHONDONTWRITEBYTECODE", "1"), ("PYTHONUNBUFFERED", "1")),
    exposed_ports=("8080/tcp",),
    sources=("README.md", "gpuctl", "pyproject.toml", "reconciler", "sandbox", "schemas", "simulator"),
)
DEBIAN_SUITE = "bookworm"
DEBIAN_PYTHON = {"bookworm": "3.11", "trixie": "3.13"}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Dockerfile instructions with their first line number, continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        lines.append((start, " ".join(pending)))
        pending = []
    return lines


def _exec_form(path: Path, number: int, value: str) -> tuple[str, ...]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise DockerfileError(
            f"{path}:{number}: expected the exec form [\"...\"], got {value!r} ({error.msg})"
        ) from error
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise DockerfileError(f"{path}:{number}: expected a JSON list of strings, got {value!r}")
    return tuple(parsed)


def _env_pairs(rest: str) -> list[tuple[str, str]]:
    pairs = []
    for word in shlex.split(rest):
        name, _, value = word.partition("=")
        pairs.append((name, value))
    return pairs


def _commands(run: str) -> list[list[str]]:
    return [shlex.split(part) for part in re.split(r"&&|;", run) if part.strip()]


# Options of `apt-get install` and `pip install` whose value is the next word.
_VALUED_OPTIONS = frozenset({"--find-links", "-f", "--index-url", "-i", "--target", "-t", "-r", "-o"})


def _after(words: list[str], verb: list[str]) -> list[str]:
    """The operands after `verb` in a command line (options and their values left out), or []
    when the line runs another command."""
    for index in range(len(words) - len(verb) + 1):
        if words[index : index + len(verb)] == verb:
            operands: list[str] = []
            skip = False
            for word in words[index + len(verb) :]:
                if skip:
                    skip = False
                elif word.startswith("-"):
                    skip = word in _VALUED_OPTIONS
                else:
                    operands.append(word)
            return operands
    return []


@dataclass
class _Collected:
    python: str = ""
    uid: int = -1
    gid: int = -1
    user_name: str = ""
    home: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    apt: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def missing(self) -> list[str]:
        wanted = {"FROM python:X.Y": self.python, "USER": self.uid >= 0, "ENTRYPOINT": self.entrypoint,
                  "useradd": self.user_name}
        return [name for name, value in wanted.items() if not value]


def _read_run(collected: _Collected, rest: str) -> None:
    for words in _commands(rest):
        collected.apt += _after(words, ["apt-get", "install"])
        collected.pip += _after(words, ["pip", "install"])
        if words[:1] == ["useradd"]:
            collected.user_name = words[-1]
            if "--home-dir" in words:
                collected.home = words[words.index("--home-dir") + 1]


def _read(collected: _Collected, path: Path, number: int, instruction: str, rest: str) -> None:
    if instruction == "FROM":
        match = re.match(r"python:(\d+\.\d+)", rest)
        if match is None:
            raise DockerfileError(f"{path}:{number}: expected FROM python:X.Y-..., got {rest!r}")
        collected.python = match.group(1)
    elif instruction == "USER":
        uid, _, gid = rest.partition(":")
        if not uid.isdigit() or not (gid or uid).isdigit():
            raise DockerfileError(f"{path}:{number}: expected USER UID:GID (numeric), got {rest!r}")
        collected.uid, collected.gid = int(uid), int(gid or uid)
    elif instruction == "ENTRYPOINT":
        collected.entrypoint = _exec_form(path, number, rest)
    elif instruction == "CMD":
        collected.cmd = _exec_form(path, number, rest)
    elif instruction == "ENV":
        collected.env += _env_pairs(rest)
    elif instruction == "EXPOSE":
        collected.ports += [port if "/" in port else f"{port}/tcp" for port in rest.split()]
    elif instruction == "RUN":
        _read_run(collected, rest)


def dockerfile_facts(path: Path) -> ImageFacts:
    """The facts of the image the final stage of `path` builds (and the sources its build
    stage copies in)."""
    instructions = _instructions(path)
    collected = _Collected()
    for _number, instruction, rest in instructions:
        if instruction == "COPY" and not rest.startswith("--from"):
            collected.sources += [word.rstrip("/") for word in shlex.split(rest)[:-1]]
    final = max(index for index, (_n, instruction, _r) in enumerate(instructions) if instruction == "FROM")
    for number, instruction, rest in instructions[final:]:
        _read(collected, path, number, instruction, rest)
    if missing := collected.missing():
        raise DockerfileError(f"{path}: the final stage does not state {', '.join(missing)}")
    return ImageFacts(
        python_version=collected.python,
        uid=collected.uid,
        gid=collected.gid,
        user_name=collected.user_name,
        home=collected.home,
        entrypoint=collected.entrypoint,
        cmd=collected.cmd,
        apt_packages=tuple(sorted(collected.apt)),
        python_packages=tuple(sorted(collected.pip)),
        env=tuple(sorted(collected.env)),
        exposed_ports=tuple(sorted(collected.ports)),
        sources=tuple(sorted(collected.sources)),
    )


def _instructions(path: Path) -> list[tuple[int, str, str]]:
    """Every instruction of `path`: line number, upper-cased instruction, arguments."""
    found = []
    for number, line in _logical_lines(path.read_text()):
        instruction, _, rest = line.partition(" ")
        found.append((number, instruction.upper(), rest.strip()))
    if not any(instruction == "FROM" for _n, instruction, _r in found):
        raise DockerfileError(f"{path}: no FROM instruction")
    return found

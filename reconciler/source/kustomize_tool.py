"""Running the real kustomize: the `kustomize` binary when on PATH, else `kubectl kustomize`.

Called by `reconciler.source.kustomize`. gpuctl has no kustomize of its own; this module finds
the tool, names it with its version (logged and audited with every build), runs one build with
a time limit and an output-size limit (the output file is watched while the build runs, and the
build killed past either), with no plugins and no Helm, and turns its stderr into one line.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.source.errors import SourceError

_VERSION = re.compile(r"v\d+\.\d+\.\d+[\w.+-]*")
_KLOG_ERR = re.compile(r'err="((?:[^"\\]|\\.)*)"', re.DOTALL)
_KLOG_BLOCK = re.compile(r"err=<\n(.*?)\n\s*>", re.DOTALL)
_VERSION_TIMEOUT_S = 20.0
_POLL_S = 0.02  # how often a running build's output size is looked at


class KustomizeUnavailableError(SourceError):
    """Neither `kustomize` nor `kubectl` is on PATH (terminal: install one)."""


@dataclass(frozen=True)
class KustomizeTool:
    """How to run a build, and what to call the tool in logs and the audit log."""

    command: tuple[str, ...]
    name: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class BuildRun:
    """What one build produced: its output, or the reason it failed (one line, no temp paths)."""

    output: bytes
    error: str = ""
    limit_hit: bool = False


def find_tool() -> KustomizeTool:
    """The kustomize a build uses (looked up once per PATH)."""
    return _find(os.environ.get("PATH", ""))


@functools.cache
def _find(path_env: str) -> KustomizeTool:
    standalone = shutil.which("kustomize", path=path_env)
    if standalone:
        text = _version_text([standalone, "version"])
        return KustomizeTool((standalone, "build"), "kustomize", _first_version(text))
    kubectl = shutil.which("kubectl", path=path_env)
    if kubectl:
        text = _version_text([kubectl, "version", "--client"])
        found = re.search(r"Kustomize Version:\s*(\S+)", text)
        return KustomizeTool(
            (kubectl, "kustomize"), "kubectl kustomize", found.group(1) if found else "unknown"
        )
    raise KustomizeUnavailableError(
        "building a kustomization needs kustomize: install the kustomize binary or kubectl "
        "(which carries kustomize) on PATH"
    )


def _version_text(command: list[str]) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def _first_version(text: str) -> str:
    found = _VERSION.search(text)
    return found.group(0) if found else "unknown"


def run_build(tool: KustomizeTool, directory: Path, out: Path, timeout_s: float, max_bytes: int) -> BuildRun:
    """`kustomize build directory` into the file `out`, within the limits: the build is killed
    as soon as its output passes `max_bytes` or its time `timeout_s`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUSTOMIZE_", "KUBECONFIG"))}
    errors = out.with_suffix(".stderr")
    try:
        with out.open("wb") as sink, errors.open("wb") as err_sink:
            child = subprocess.Popen(
                [*tool.command, str(directory)],
                stdout=sink, stderr=err_sink, stdin=subprocess.DEVNULL, env=env, cwd=directory,
            )  # fmt: skip
            over = _watch(child, out, time.monotonic() + timeout_s, max_bytes)
    except OSError as err:
        return BuildRun(b"", f"cannot run {tool.label}: {err}")
    if over == "time":
        return BuildRun(
            b"", f"the build took longer than {timeout_s:g} s (limits.kustomizeTimeoutSeconds)", True
        )
    if over == "size" or out.stat().st_size > max_bytes:
        return BuildRun(
            b"", f"the build wrote more than {max_bytes} bytes (limits.kustomizeMaxOutputBytes)", True
        )
    if child.returncode != 0:
        return BuildRun(b"", one_line_error(errors.read_bytes().decode("utf-8", "replace")))
    return BuildRun(out.read_bytes())


def _watch(child: subprocess.Popen[bytes], out: Path, deadline: float, max_bytes: int) -> str:
    """Wait for the build; kill it past the deadline ("time") or the output size ("size")."""
    while True:
        try:
            child.wait(timeout=_POLL_S)
            return ""
        except subprocess.TimeoutExpired:
            pass
        over = "time" if time.monotonic() > deadline else "size" if out.stat().st_size > max_bytes else ""
        if over:
            child.kill()
            child.wait()
            return over


def one_line_error(stderr: str) -> str:
    """kustomize's message, from `Error: …` (kustomize) or a klog line (kubectl)."""
    block = _KLOG_BLOCK.search(stderr)
    if block:
        text = block.group(1)
    else:
        quoted = _KLOG_ERR.search(stderr)
        text = quoted.group(1).replace('\\"', '"') if quoted else stderr
    text = text.strip()
    if text.startswith("Error: "):
        text = text[len("Error: ") :]
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) or "kustomize failed"

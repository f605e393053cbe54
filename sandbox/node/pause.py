"""The pod sandbox ("pause") image, built locally: no registry is reachable. A few lines of C
compiled with `gcc -static` that sleep until SIGTERM/SIGINT and reap orphans, in a one-layer
OCI image archive."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.node.oci import ImageConfig, layer_from_tree, write_archive

PAUSE_REF = "docker.io/library/gpuctl-pause:1"

_SOURCE = r"""
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
"""


class PauseBuildError(RuntimeError):
    """The pause binary could not be compiled (terminal: install gcc and the static libc)."""


def build_pause_image(out: Path, ref: str = PAUSE_REF) -> Path:
    """Compile the pause binary and write its image archive to `out` (kept when present)."""
    if out.exists():
        return out
    compiler = shutil.which("gcc")
    if compiler is None:
        raise PauseBuildError("gcc is not installed (apt-get install gcc libc6-dev)")
    with tempfile.TemporaryDirectory(prefix="gpuctl-pause-") as scratch:
        directory = Path(scratch)
        source = directory / "pause.c"
        source.write_text(_SOURCE)
        tree = directory / "tree"
        tree.mkdir()
        result = subprocess.run(
            [compiler, "-static", "-Os", "-o", str(tree / "pause"), str(source)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise PauseBuildError(f"gcc -static failed: {result.stderr.strip()}")
        layer = layer_from_tree(tree, directory / "layer.tar")
        write_archive(out, ref, [layer], ImageConfig(entrypoint=("/pause",), user="65535:65535"))
    return out

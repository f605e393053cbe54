"""Build the gpuctl image without Docker: the image `deploy/Dockerfile` describes, from a
Debian root filesystem (mmdebstrap), the project's wheels built on the host and the non-root
user, written as an OCI image archive for `ctr images import`.

    python -m sandbox.node.image --out build/gpuctl-image.tar     # or deploy/build-image.sh

Two layers: the base (Debian, Python, git, a virtualenv in /opt/gpuctl with gpuctl's
dependencies, the user) is cached under `--cache` keyed by the project's dependencies, the
Dockerfile and this build's facts, so only the second layer (the gpuctl package itself, about a second) is
rebuilt when only the code changed. Needs root (mmdebstrap's chroot) and the Debian mirror.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sandbox.node.image_spec import DEBIAN_PYTHON, DEBIAN_SUITE, GPUCTL_IMAGE, ImageFacts
from sandbox.node.oci import ImageConfig, Layer, layer_from_tree, write_archive

VENV = "/opt/gpuctl"
DEFAULT_REF = "docker.io/library/gpuctl:dev"
PATH_ENV = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Documentation, man pages and translations are left out of the root filesystem.
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*")


class ImageBuildError(RuntimeError):
    """A step of the image build failed (terminal: the same inputs fail again)."""


@dataclass(frozen=True)
class BuiltImage:
    archive: Path
    ref: str
    digest: str
    base_cached: bool


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise ImageBuildError(f"{what} failed (exit {result.returncode}): {' '.join(argv[:4])} …\n{tail}")


def base_key(root: Path, facts: ImageFacts = GPUCTL_IMAGE) -> str:
    """The cache key of the base layer: what decides the dependencies and the OS content (the
    project's dependencies, not the rest of pyproject.toml)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    sha = hashlib.sha256((root / "deploy" / "Dockerfile").read_bytes())
    wanted = (project.get("dependencies"), project.get("requires-python"), facts, DEBIAN_SUITE, _EXCLUDES,
              VENV)
    sha.update(repr(wanted).encode())
    return sha.hexdigest()[:20]


def _copy_sources(root: Path, facts: ImageFacts, into: Path) -> None:
    """The files the Dockerfile's build stage copies, and nothing else (no stale build/)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in facts.sources:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=ignore)
        else:
            shutil.copy2(source, into / name)


def build_wheels(root: Path, facts: ImageFacts, out: Path, *, with_deps: bool) -> list[Path]:
    """gpuctl's wheel (and, `with_deps`, every dependency's) built with the host's Python,
    which must be the image's Python version (compiled wheels are per version)."""
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    if host != facts.python_version:
        raise ImageBuildError(
            f"the host Python is {host}; the image's is {facts.python_version} and compiled wheels "
            f"must match: run with python{facts.python_version}"
        )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpuctl-src-") as scratch:
        source = Path(scratch)
        _copy_sources(root, facts, source)
        argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(out), str(source)]
        if not with_deps:
            argv.insert(-1, "--no-deps")
        _run(argv, "pip wheel")
    return sorted(out.glob("*.whl"))


def _mmdebstrap_argv(facts: ImageFacts, wheels: Path, out: Path) -> list[str]:
    packages = ",".join(("python3", "python3-venv", *facts.apt_packages))
    pip = f"{VENV}/bin/pip"
    hooks = [
        f'copy-in {wheels} /tmp',
        f'chroot "$1" python3 -m venv {VENV}',
        f'chroot "$1" {pip} install --quiet --no-index --find-links /tmp/{wheels.name} '
        + " ".join(facts.python_packages),
        # The base keeps the dependencies only; the second layer brings gpuctl itself.
        f'chroot "$1" {pip} uninstall --quiet --yes ' + " ".join(facts.python_packages),
        f'chroot "$1" groupadd --gid {facts.gid} {facts.user_name}',
        f'chroot "$1" useradd --uid {facts.uid} --gid {facts.gid} --no-create-home '
        f"--home-dir {facts.home} --shell /usr/sbin/nologin {facts.user_name}",
        f'rm -rf "$1/tmp/{wheels.name}" "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
    ]
    argv = ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={packages}"]
    argv += [f"--dpkgopt=path-exclude={pattern}" for pattern in _EXCLUDES]
    argv += [f"--customize-hook={hook}" for hook in hooks]
    return [*argv, DEBIAN_SUITE, str(out)]


def build_base(root: Path, cache: Path, facts: ImageFacts = GPUCTL_IMAGE) -> tuple[Layer, bool]:
    """The base layer tar (cached), and whether it came from the cache."""
    if DEBIAN_PYTHON[DEBIAN_SUITE] != facts.python_version:
        raise ImageBuildError(
            f"Debian {DEBIAN_SUITE} ships Python {DEBIAN_PYTHON[DEBIAN_SUITE]}, the image wants "
            f"{facts.python_version}: change DEBIAN_SUITE or the Dockerfile's FROM python:X.Y"
        )
    directory = cache / f"base-{base_key(root, facts)}"
    layer_tar = directory / "layer.tar"
    if layer_tar.exists():
        return Layer.from_file(layer_tar), True
    if shutil.which("mmdebstrap") is None:
        raise ImageBuildError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpuctl-base-", dir=directory) as scratch:
        wheels = Path(scratch) / "wheels"
        build_wheels(root, facts, wheels, with_deps=True)
        partial = Path(scratch) / "layer.tar"
        _run(_mmdebstrap_argv(facts, wheels, partial), "mmdebstrap")
        partial.replace(layer_tar)
    for stale in cache.glob("base-*"):
        if stale != directory:
            shutil.rmtree(stale, ignore_errors=True)
    return Layer.from_file(layer_tar), False


def build_app_layer(root: Path, scratch: Path, facts: ImageFacts = GPUCTL_IMAGE) -> Layer:
    """The layer holding gpuctl itself, installed into the base's virtualenv."""
    wheels = build_wheels(root, facts, scratch / "app-wheels", with_deps=False)
    tree = scratch / "app-tree"
    # --ignore-installed: without it pip first uninstalls the gpuctl installed in the host's
    # environment (an editable install, say), although this install goes to another root.
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed",
         "--no-warn-script-location", "--root", str(tree), "--prefix", VENV, *map(str, wheels)],
        "pip install of the gpuctl wheel",
    )
    bin_dir = tree / VENV.lstrip("/") / "bin"
    for script in bin_dir.iterdir():
        lines = script.read_text().splitlines(keepends=True)
        if lines and lines[0].startswith("#!"):
            # pip wrote the host interpreter; the image runs the virtualenv's.
            script.write_text("".join([f"#!{VENV}/bin/python3\n", *lines[1:]]))
    site = tree / VENV.lstrip("/") / "lib" / f"python{facts.python_version}" / "site-packages"
    if not site.is_dir():
        raise ImageBuildError(f"pip did not install into {site}")
    return layer_from_tree(tree, scratch / "app-layer.tar")


def image_config(facts: ImageFacts = GPUCTL_IMAGE) -> ImageConfig:
    """The image config the Dockerfile's USER, ENV, EXPOSE, ENTRYPOINT and CMD give."""
    env = (f"PATH={PATH_ENV}", *(f"{name}={value}" for name, value in facts.env))
    return ImageConfig(
        entrypoint=facts.entrypoint,
        cmd=facts.cmd,
        user=f"{facts.uid}:{facts.gid}",
        env=env,
        exposed_ports=facts.exposed_ports,
    )


def build_image(root: Path, out: Path, cache: Path, ref: str = DEFAULT_REF) -> BuiltImage:
    """Build the gpuctl image of the checkout at `root` into the OCI archive `out`."""
    if os.geteuid() != 0:
        raise ImageBuildError("building the image needs root (mmdebstrap chroots into the rootfs)")
    base, cached = build_base(root, cache)
    with tempfile.TemporaryDirectory(prefix="gpuctl-app-", dir=cache) as scratch:
        app = build_app_layer(root, Path(scratch))
        digest = write_archive(out, ref, [base, app], image_config())
    return BuiltImage(out, ref, digest, cached)


def default_cache() -> Path:
    """`$GPUCTL_IMAGE_CACHE`, else `$XDG_CACHE_HOME/gpuctl/image` (`~/.cache/gpuctl/image`)."""
    if value := os.environ.get("GPUCTL_IMAGE_CACHE"):
        return Path(value)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gpuctl" / "image"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/build-image.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/gpuctl-image.tar"))
    parser.add_argument("--ref", default=DEFAULT_REF, help=f"image name (default {DEFAULT_REF})")
    parser.add_argument("--cache", type=Path, default=None, help="base layer cache directory")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the checkout (default: .)")
    options = parser.parse_args(argv)
    if not all((options.root / name).is_file() for name in ("pyproject.toml", "deploy/Dockerfile")):
        parser.error(f"{options.root} is not a gpuctl checkout (no pyproject.toml and deploy/Dockerfile)")
    cache = options.cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    try:
        image = build_image(options.root.resolve(), options.out.resolve(), cache, options.ref)
    except ImageBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    size = image.archive.stat().st_size / 2**20
    origin = "cached" if image.base_cached else "built"
    print(f"{image.archive}: {image.ref} {image.digest} ({size:.0f} MiB, base layer {origin})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""deploy/Dockerfile and the Docker-less image build (sandbox.node.image) describe the same
image: user, entrypoint and command, Python version, Debian and Python packages, environment,
port and the sources copied in; the OCI archive writer produces what `ctr images import`
reads. Building the image itself needs root and is exercised by tests/incluster/."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sandbox.node.image import _mmdebstrap_argv, image_config
from sandbox.node.image_spec import (
    DEBIAN_PYTHON,
    DEBIAN_SUITE,
    GPUCTL_IMAGE,
    DockerfileError,
    dockerfile_facts,
)
from sandbox.node.oci import REF_NAME, ImageConfig, layer_from_tree, read_config, write_archive

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def test_dockerfile_and_the_build_describe_the_same_image():
    """Every fact read from deploy/Dockerfile equals the Docker-less build's."""
    assert dockerfile_facts(DOCKERFILE) == GPUCTL_IMAGE


def test_debian_release_ships_the_dockerfiles_python():
    """The Debian suite the build bootstraps ships the Python version of the Dockerfile's FROM."""
    assert DEBIAN_PYTHON[DEBIAN_SUITE] == dockerfile_facts(DOCKERFILE).python_version


def test_mmdebstrap_installs_the_dockerfiles_packages_and_user(tmp_path):
    """The root filesystem gets the Dockerfile's apt packages, its pip packages and its user."""
    facts = dockerfile_facts(DOCKERFILE)
    argv = _mmdebstrap_argv(GPUCTL_IMAGE, tmp_path / "wheels", tmp_path / "out.tar")
    (include,) = [arg for arg in argv if arg.startswith("--include=")]
    assert set(facts.apt_packages) <= set(include.removeprefix("--include=").split(","))
    hooks = " | ".join(arg for arg in argv if arg.startswith("--customize-hook="))
    assert all(f"install --quiet --no-index --find-links /tmp/wheels {p}" in hooks
               for p in facts.python_packages)
    assert f"useradd --uid {facts.uid} --gid {facts.gid}" in hooks
    assert f"--home-dir {facts.home} " in hooks and hooks.count(facts.user_name) >= 2


def test_image_config_carries_the_dockerfiles_runtime_settings():
    """USER, ENTRYPOINT, CMD, ENV and EXPOSE of the Dockerfile end up in the image config."""
    facts = dockerfile_facts(DOCKERFILE)
    config = image_config().document([])["config"]
    assert isinstance(config, dict)
    assert config["User"] == f"{facts.uid}:{facts.gid}"
    assert config["Entrypoint"] == list(facts.entrypoint) and config["Cmd"] == list(facts.cmd)
    assert {f"{name}={value}" for name, value in facts.env} <= set(config["Env"])
    assert set(config["ExposedPorts"]) == set(facts.exposed_ports)


def test_dockerfile_without_a_user_is_reported_with_the_file(tmp_path):
    """A Dockerfile whose final stage has no USER is refused, naming the file and what is missing."""
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.11-slim\nRUN useradd gpuctl\nENTRYPOINT [\"gpuctl\"]\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile: the final stage does not state USER"):
        dockerfile_facts(broken)


def test_dockerfile_shell_form_entrypoint_is_reported_with_its_line(tmp_path):
    """A shell-form ENTRYPOINT is refused with file:line and the exec form it should use."""
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.11-slim\nUSER 1:1\nENTRYPOINT gpuctl run\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile:3: expected the exec form"):
        dockerfile_facts(broken)


def test_oci_archive_holds_index_manifest_config_and_layers(tmp_path):
    """The archive is an OCI image layout: the index names the image, every blob is present."""
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    layer = layer_from_tree(tree, tmp_path / "layer.tar")
    out = tmp_path / "image.tar"
    config = ImageConfig(entrypoint=("/bin/hello",), user="7:7")
    write_archive(out, "docker.io/library/hello:1", [layer], config)
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
    assert {"oci-layout", "index.json", "blobs/sha256/" + layer.digest.removeprefix("sha256:")} <= names
    assert index["manifests"][0]["annotations"][REF_NAME] == "docker.io/library/hello:1"
    written = read_config(out)
    assert written["rootfs"] == {"type": "layers", "diff_ids": [layer.digest]}
    assert written["config"]["User"] == "7:7"  # type: ignore[index]
    with tarfile.open(layer.path) as archive:
        (member,) = [m for m in archive.getmembers() if m.name == "bin/hello"]
    assert member.uid == 0 and member.gid == 0

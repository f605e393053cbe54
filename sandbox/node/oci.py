"""OCI image archives without a registry or a container engine: uncompressed layer tars, an
image config, a manifest and an index whose `org.opencontainers.image.ref.name` names the
image, packed as one OCI image layout tar that `ctr -n k8s.io images import` accepts.

    layers = [Layer.from_file(base_tar), Layer.from_file(app_tar)]
    write_archive(out, "docker.io/library/gpuctl:dev", layers, ImageConfig(entrypoint=("gpuctl",)))
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layer:
    """An uncompressed layer tar on disk and its digest (which is also its diff ID)."""

    path: Path
    digest: str
    size: int

    @classmethod
    def from_file(cls, path: Path) -> Layer:
        sha = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
        return cls(path, f"sha256:{sha.hexdigest()}", path.stat().st_size)


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (what `docker inspect` shows under Config)."""

    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    user: str = ""
    env: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    working_dir: str = "/"
    labels: dict[str, str] = field(default_factory=dict)

    def document(self, layers: list[Layer]) -> dict[str, object]:
        """The image config JSON document for these layers."""
        config: dict[str, object] = {
            "Entrypoint": list(self.entrypoint),
            "Env": list(self.env),
            "WorkingDir": self.working_dir,
        }
        if self.cmd:
            config["Cmd"] = list(self.cmd)
        if self.user:
            config["User"] = self.user
        if self.exposed_ports:
            config["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.labels:
            config["Labels"] = dict(self.labels)
        return {
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
        }


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, data: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def write_archive(out: Path, ref: str, layers: list[Layer], config: ImageConfig) -> str:
    """Write the OCI image layout tar for `layers` and `config` to `out`, naming the image
    `ref` (a fully qualified reference such as `docker.io/library/NAME:TAG`); returns the
    manifest digest."""
    config_bytes = _canonical(config.document(layers))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": _descriptor(CONFIG_MEDIA_TYPE, config_bytes),
        "layers": [
            {"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size} for layer in layers
        ],
    }
    manifest_bytes = _canonical(manifest)
    manifest_descriptor = _descriptor(MANIFEST_MEDIA_TYPE, manifest_bytes)
    manifest_descriptor["annotations"] = {REF_NAME: ref, "io.containerd.image.name": ref}
    manifest_descriptor["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [manifest_descriptor]}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        _add_bytes(archive, "oci-layout", _canonical({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(archive, "index.json", _canonical(index))
        _add_bytes(archive, _blob_name(_digest(config_bytes)), config_bytes)
        _add_bytes(archive, _blob_name(_digest(manifest_bytes)), manifest_bytes)
        for layer in _unique(layers):
            archive.add(str(layer.path), arcname=_blob_name(layer.digest), recursive=False)
    partial.replace(out)
    return str(manifest_descriptor["digest"])


def _unique(layers: Iterable[Layer]) -> list[Layer]:
    seen: dict[str, Layer] = {}
    for layer in layers:
        seen.setdefault(layer.digest, layer)
    return list(seen.values())


def layer_from_tree(root: Path, out: Path) -> Layer:
    """A layer tar of the files under `root` (paths relative to it, owned by root:root,
    modes and mtimes kept: compiled `.pyc` files stay valid against their sources)."""

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(root.rglob("*")):
            archive.add(str(path), arcname=path.relative_to(root).as_posix(), recursive=False,
                        filter=owned_by_root)
    return Layer.from_file(out)


def read_config(archive_path: Path) -> dict[str, object]:
    """The image config document of the single image in an OCI image layout tar."""
    with tarfile.open(archive_path) as archive:
        index = json.loads(_member(archive, "index.json"))
        manifest = json.loads(_member(archive, _blob_name(index["manifests"][0]["digest"])))
        config: dict[str, object] = json.loads(_member(archive, _blob_name(manifest["config"]["digest"])))
        return config


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(name)
    if handle is None:
        raise KeyError(name)
    return handle.read()

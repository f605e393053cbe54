"""The GPU hardware catalogue: models, MIG geometries and profiles, loaded from data.

Used by validation (does a MIG layout fit this GPU?), the sandbox (what a node advertises)
and the simulator (SM shares). The data lives in `data/gpu_catalogue.yaml`; this module
only gives it types and lookups.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

_DATA = Path(__file__).parent / "data" / "gpu_catalogue.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ProfileClass(_Frozen):
    """A geometry class such as `3g`: slice sizes, max count and allowed placement starts."""

    sm_slices: int
    memory_slices: int
    max_count: int
    starts: tuple[int, ...]
    profile_id: int
    media_extension: bool = False


class Geometry(_Frozen):
    """The slice layout shared by a family of GPUs (7-slice A100/H100/H200, 4-slice A30)."""

    memory_slices: int
    compute_slices: int
    classes: dict[str, ProfileClass]


class MigProfileSpec(_Frozen):
    """A MIG profile as named on one GPU model (e.g. `1g.10gb` on H100-SXM5-80GB)."""

    class_name: str = Field(alias="class")
    sm_count: int
    memory_mib: int | None = None


class MigSupport(_Frozen):
    geometry: str
    profiles: dict[str, MigProfileSpec]


class GpuModel(_Frozen):
    """One GPU model of the catalogue."""

    memory_mib: int
    sm_count: int
    compute_capability: str
    product_label: str
    device_ids: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: str = ""
    mig: MigSupport | None = None


class CatalogueData(_Frozen):
    geometries: dict[str, Geometry]
    models: dict[str, GpuModel]


class MigProfile(_Frozen):
    """A fully resolved MIG profile of one model: the name joined with its geometry class."""

    name: str
    model: str
    class_name: str
    sm_slices: int
    memory_slices: int
    max_count: int
    starts: tuple[int, ...]
    profile_id: int
    media_extension: bool
    sm_count: int
    memory_mib: int

    @property
    def resource_name(self) -> str:
        """The extended resource the device plugin advertises under the `mixed` strategy."""
        return "nvidia.com/mig-" + self.name.replace("+", ".")


class Catalogue:
    """Typed, read-only access to the GPU catalogue."""

    def __init__(self, data: CatalogueData) -> None:
        self._data = data
        self._profiles: dict[str, dict[str, MigProfile]] = {
            name: self._resolve_profiles(name, model) for name, model in data.models.items()
        }

    def _resolve_profiles(self, model_name: str, model: GpuModel) -> dict[str, MigProfile]:
        if model.mig is None:
            return {}
        geometry = self._data.geometries[model.mig.geometry]
        resolved: dict[str, MigProfile] = {}
        for name, spec in model.mig.profiles.items():
            cls = geometry.classes[spec.class_name]
            memory = spec.memory_mib
            if memory is None:  # derived: this profile's share of the memory slices
                memory = model.memory_mib * cls.memory_slices // geometry.memory_slices
            resolved[name] = MigProfile(
                name=name,
                model=model_name,
                class_name=spec.class_name,
                sm_slices=cls.sm_slices,
                memory_slices=cls.memory_slices,
                max_count=cls.max_count,
                starts=cls.starts,
                profile_id=cls.profile_id,
                media_extension=cls.media_extension,
                sm_count=spec.sm_count,
                memory_mib=memory,
            )
        return resolved

    @property
    def model_names(self) -> list[str]:
        return list(self._data.models)

    def model(self, name: str) -> GpuModel:
        """The model called `name`; KeyError if the catalogue has no such model."""
        return self._data.models[name]

    def has_model(self, name: str) -> bool:
        return name in self._data.models

    def is_mig_capable(self, model: str) -> bool:
        return self._data.models[model].mig is not None

    def geometry(self, model: str) -> Geometry:
        """The MIG geometry of a MIG-capable model."""
        mig = self._data.models[model].mig
        if mig is None:
            raise KeyError(f"{model} does not support MIG")
        return self._data.geometries[mig.geometry]

    def profiles(self, model: str) -> dict[str, MigProfile]:
        """All MIG profiles of `model` by name (empty for models without MIG)."""
        return self._profiles[model]

    def profile(self, model: str, name: str) -> MigProfile:
        return self._profiles[model][name]

    def model_for_device_id(self, device_id: str) -> list[str]:
        """Models whose PCI device ID (`0xDDDDVVVV`, subsystem qualifier ignored) matches."""
        wanted = device_id.split(":", 1)[0].upper().replace("0X", "0x")
        return [
            name
            for name, model in self._data.models.items()
            if wanted in {d.upper().replace("0X", "0x") for d in model.device_ids}
        ]

    def model_for_product_label(self, label: str) -> str | None:
        """The model whose `nvidia.com/gpu.product` label is `label`, if any."""
        for name, model in self._data.models.items():
            if model.product_label == label:
                return name
        return None


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with gpuctl (loaded once)."""
    with _DATA.open(encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Catalogue(CatalogueData.model_validate(raw))

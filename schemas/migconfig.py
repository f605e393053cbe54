"""mig-parted configuration (`config.yaml` of the MIG manager's ConfigMap) and built-in layouts.

The model follows mig-parted's strict v1 parser: `version: v1`, a non-empty `mig-configs`
map, and entries with required `devices` and `mig-enabled`; unknown keys are rejected.
Whether a layout fits the GPU is *not* a parse rule (mig-parted only finds out on the node);
`schemas.placement` answers that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.catalogue import Catalogue, catalogue
from schemas.placement import max_fitting_count

PROFILE_NAME_PATTERN = r"^(\d+c\.)?\d+g\.\d+gb(\+me)?$"


class MigConfigEntry(BaseModel):
    """One entry of a named mig-parted config: which GPUs, and the layout they get."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    devices: Literal["all"] | list[int]
    device_filter: str | list[str] | None = Field(default=None, alias="device-filter")
    mig_enabled: bool = Field(alias="mig-enabled")
    mig_devices: dict[str, int] | None = Field(default=None, alias="mig-devices")

    @field_validator("devices", mode="before")
    @classmethod
    def _devices_all_or_indexes(cls, value: object) -> object:
        if isinstance(value, str) and value != "all":
            raise ValueError(f"devices must be 'all' or a list of GPU indexes, not {value!r}")
        return value

    @field_validator("device_filter")
    @classmethod
    def _filter_format(cls, value: str | list[str] | None) -> str | list[str] | None:
        import re

        items = [value] if isinstance(value, str) else (value or [])
        for item in items:
            if not re.fullmatch(r"0x[0-9A-Fa-f]{8}(:0x[0-9A-Fa-f]{8})?", item):
                raise ValueError(
                    f"device-filter {item!r} is not a PCI ID of the form 0xDDDDVVVV[:0xSSSSVVVV]"
                )
        return value

    @model_validator(mode="after")
    def _devices_match_mode(self) -> MigConfigEntry:
        import re

        if not self.mig_enabled and self.mig_devices:
            raise ValueError("mig-devices must be empty when mig-enabled is false")
        if self.mig_enabled and self.mig_devices is None:
            raise ValueError("mig-devices is required when mig-enabled is true (use {} for none)")
        for name, count in (self.mig_devices or {}).items():
            if not re.fullmatch(PROFILE_NAME_PATTERN, name):
                raise ValueError(f"{name!r} is not a MIG profile name (e.g. 1g.10gb, 3g.40gb)")
            if count < 0:
                raise ValueError(f"count for {name} must be >= 0, got {count}")
        if self.mig_devices and all(c == 0 for c in self.mig_devices.values()):
            raise ValueError("mig-devices counts may not all be 0")
        return self

    @property
    def filters(self) -> list[str]:
        if self.device_filter is None:
            return []
        return [self.device_filter] if isinstance(self.device_filter, str) else self.device_filter


class MigPartedConfig(BaseModel):
    """The whole mig-parted `config.yaml`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Literal["v1"]
    mig_configs: dict[str, list[MigConfigEntry]] = Field(alias="mig-configs", min_length=1)

    @field_validator("mig_configs")
    @classmethod
    def _non_empty_configs(cls, value: dict[str, list[MigConfigEntry]]) -> dict[str, list[MigConfigEntry]]:
        for name, entries in value.items():
            if not entries:
                raise ValueError(f"mig config {name!r} needs at least one entry")
        return value


@dataclass(frozen=True)
class MigLayout:
    """What one GPU should carry: MIG on or off and, when on, profile → count."""

    enabled: bool
    devices: dict[str, int] = field(default_factory=dict)

    def instances(self) -> list[str]:
        return [name for name, n in sorted(self.devices.items()) for _ in range(n)]


def builtin_layout(name: str, model: str, cat: Catalogue | None = None) -> MigLayout | None:
    """The layouts the MIG manager generates per node (`all-disabled`, `all-enabled`,
    `all-<profile>` with `+` spelled `.`, `all-balanced`); None if `name` is not one of them."""
    cat = cat or catalogue()
    if name == "all-disabled":
        return MigLayout(enabled=False)
    if not cat.has_model(model) or not cat.is_mig_capable(model):
        return None
    if name == "all-enabled":
        return MigLayout(enabled=True)
    profiles = cat.profiles(model)
    if name == "all-balanced":
        return _balanced(model, cat)
    if name.startswith("all-"):
        wanted = name.removeprefix("all-")
        for profile in profiles.values():
            if profile.name.replace("+", ".") == wanted:
                return MigLayout(True, {profile.name: max_fitting_count(model, profile.name, cat)})
    return None


def _balanced(model: str, cat: Catalogue) -> MigLayout:
    """2×1g + 1×2g (+ 1×3g on 7-slice parts), taking the 1g variant with the highest max."""
    profiles = [p for p in cat.profiles(model).values() if not p.media_extension]

    def pick(sm_slices: int) -> str | None:
        candidates = [p for p in profiles if p.sm_slices == sm_slices]
        if not candidates:
            return None
        return max(candidates, key=lambda p: (p.max_count, -p.memory_slices)).name

    counts: dict[str, int] = {}
    one, two, three = pick(1), pick(2), pick(3)
    if one:
        counts[one] = 2
    if two:
        counts[two] = 1
    if three:
        counts[three] = 1
    return MigLayout(True, counts)


def builtin_names(model: str, cat: Catalogue | None = None) -> list[str]:
    """Every built-in config name available for `model`."""
    cat = cat or catalogue()
    names = ["all-disabled"]
    if cat.has_model(model) and cat.is_mig_capable(model):
        names += ["all-enabled", "all-balanced"]
        names += ["all-" + p.replace("+", ".") for p in cat.profiles(model)]
    return names


def matching_entries(
    config: Sequence[MigConfigEntry], model: str, gpu_count: int, cat: Catalogue | None = None
) -> list[int | None]:
    """For each GPU index of a node, the index of the first entry whose device-filter and
    devices match it (mig-parted walks entries in order); None where no entry matches."""
    cat = cat or catalogue()
    ids = {d.upper() for d in cat.model(model).device_ids} if cat.has_model(model) else set()
    result: list[int | None] = []
    for index in range(gpu_count):
        chosen: int | None = None
        for position, entry in enumerate(config):
            filters = {f.split(":", 1)[0].upper() for f in entry.filters}
            if filters and not filters & ids:
                continue
            if entry.devices != "all" and index not in entry.devices:
                continue
            chosen = position
            break
        result.append(chosen)
    return result


def layouts_for_gpus(
    config: Sequence[MigConfigEntry], model: str, gpu_count: int, cat: Catalogue | None = None
) -> list[MigLayout | None]:
    """Resolve a named config for each GPU index of a node: the first entry whose
    device-filter and devices match wins; None where no entry matches (GPU left alone)."""
    result: list[MigLayout | None] = []
    for position in matching_entries(config, model, gpu_count, cat):
        if position is None:
            result.append(None)
            continue
        entry = config[position]
        result.append(MigLayout(entry.mig_enabled, dict(entry.mig_devices or {})))
    return result

"""Built-in MIG layouts and the strict mig-parted config model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.migconfig import MigPartedConfig, builtin_layout, layouts_for_gpus


def test_all_balanced_per_geometry() -> None:
    """all-balanced is 2×1g+1×2g+1×3g on 7-slice parts and 2×1g+1×2g on the A30."""
    assert builtin_layout("all-balanced", "H100-SXM5-80GB").devices == {
        "1g.10gb": 2,
        "2g.20gb": 1,
        "3g.40gb": 1,
    }
    assert builtin_layout("all-balanced", "H200-SXM-141GB").devices == {
        "1g.18gb": 2,
        "2g.35gb": 1,
        "3g.71gb": 1,
    }
    assert builtin_layout("all-balanced", "A30-24GB").devices == {"1g.6gb": 2, "2g.12gb": 1}


def test_all_profile_uses_the_models_own_max() -> None:
    """all-1g.10gb means 4 instances on A100-40GB and 7 on A100-80GB; +me is spelt .me."""
    assert builtin_layout("all-1g.10gb", "A100-SXM4-40GB").devices == {"1g.10gb": 4}
    assert builtin_layout("all-1g.10gb", "A100-SXM4-80GB").devices == {"1g.10gb": 7}
    assert builtin_layout("all-1g.10gb.me", "A100-SXM4-80GB").devices == {"1g.10gb+me": 1}
    assert builtin_layout("all-3g.40gb", "T4") is None


def test_strict_parse_rejects_unknown_keys_and_missing_fields() -> None:
    """Unknown entry keys, a missing mig-enabled and a wrong version are parse errors."""
    with pytest.raises(ValidationError):
        MigPartedConfig.model_validate(
            {"version": "v1", "mig-configs": {"x": [{"devices": "all", "mig-enabled": False, "foo": 1}]}}
        )
    with pytest.raises(ValidationError):
        MigPartedConfig.model_validate({"version": "v1", "mig-configs": {"x": [{"devices": "all"}]}})
    with pytest.raises(ValidationError):
        MigPartedConfig.model_validate({"version": "v2", "mig-configs": {"x": []}})


def test_entries_resolve_per_gpu_in_list_order() -> None:
    """The first entry matching a GPU's index and device filter wins; unmatched GPUs get None."""
    cfg = MigPartedConfig.model_validate(
        {
            "version": "v1",
            "mig-configs": {
                "split": [
                    {"devices": [0, 1], "mig-enabled": True, "mig-devices": {"3g.40gb": 2}},
                    {"devices": [2], "device-filter": "0x20B010DE", "mig-enabled": False},
                ]
            },
        }
    )
    layouts = layouts_for_gpus(cfg.mig_configs["split"], "H100-SXM5-80GB", 4)
    assert layouts[0] is not None and layouts[0].devices == {"3g.40gb": 2}
    assert layouts[2] is None and layouts[3] is None

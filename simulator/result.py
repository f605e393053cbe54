"""`RunResult`: what one run produced, always with its configuration, seed and any error,
and its canonical JSON form (sorted keys, fixed float formatting: the same inputs and seed
give byte-identical output). The schema is documented in docs/simulate-result.md."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

RESULT_SCHEMA_VERSION = "gpuctl.dev/simulate-result/v1"


def json_ready(value: Any) -> Any:
    """JSON-safe copy: floats rounded to 9 significant digits, NaN/inf as null."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


@dataclass
class RunResult:
    """One seed of one experiment. `error` is set (and `metrics` empty) when the run failed."""

    mode: str
    policy: str
    seed: int
    config: dict[str, Any]
    cluster: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA_VERSION,
            "mode": self.mode,
            "policy": self.policy,
            "seed": self.seed,
            "config": self.config,
            "cluster": self.cluster,
            "workload": self.workload,
            "metrics": self.metrics,
            "error": self.error,
        }

    def to_json(self) -> str:
        """Canonical JSON: byte-identical for identical runs."""
        return json.dumps(json_ready(self.to_dict()), sort_keys=True, indent=1, ensure_ascii=False) + "\n"

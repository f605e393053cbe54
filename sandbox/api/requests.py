"""A parsed API request, and the admission seam every write passes through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.api.resources import ResourceType


@dataclass
class Request:
    """A parsed API request on one resource type."""

    rtype: ResourceType
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    params: dict[str, str] = field(default_factory=dict)
    user_agent: str = ""

    @property
    def dry_run(self) -> bool:
        return self.params.get("dryRun") == "All"

    @property
    def manager(self) -> str:
        return self.params.get("fieldManager") or (self.user_agent.split("/", 1)[0] or "unknown")


class AdmissionHook(Protocol):
    """Sees every write: `admit` may change or reject the new object, `committed` runs after."""

    def admit(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None: ...

    def committed(
        self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None: ...

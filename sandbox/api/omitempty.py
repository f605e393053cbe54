"""Empty maps the real API server does not store: Go serialises ObjectMeta's `labels` and
`annotations`, and a ConfigMap's or Secret's `data`/`binaryData`, with `omitempty`, so an
object written (created, updated, patched or server-side applied) with `labels: {}` or
`data: {}` reads back without the field. This admission hook drops them the same way."""

from __future__ import annotations

from typing import Any

from sandbox.api.resources import ResourceType

_METADATA_MAPS = ("labels", "annotations")
_DATA_MAPS = {("", "ConfigMap"): ("data", "binaryData"), ("", "Secret"): ("data", "binaryData", "stringData")}


class OmitEmpty:
    """Admission hook: removes the empty maps above from every object written."""

    def admit(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is None:
            return
        metadata = new.get("metadata")
        if isinstance(metadata, dict):
            for key in _METADATA_MAPS:
                if metadata.get(key) == {}:
                    del metadata[key]
        for key in _DATA_MAPS.get((rtype.group, rtype.kind), ()):
            if new.get(key) == {}:
                del new[key]

    def committed(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        return None

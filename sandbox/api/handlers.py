"""The API verbs on stored objects: get, list, create, update, patch (incl. server-side
apply), delete and deletecollection, with the API server's preconditions, dry runs,
managedFields bookkeeping and graceful deletion. HTTP-free: `http.py` calls these with a
parsed `Request`; the GPU controllers call them too, so their writes look like any client's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from sandbox.api import errors, shapes
from sandbox.api.errors import ApiError
from sandbox.api.listing import list_page
from sandbox.api.objects import BUILTIN_GROUPS, bump_generation, check_type_meta, initialise, validate
from sandbox.api.patches import APPLY_PATCH_YAML, apply_patch
from sandbox.api.requests import AdmissionHook, Request
from sandbox.api.resources import Registry, ResourceType
from sandbox.api.ssa import record_update, server_side_apply
from sandbox.api.store import Store
from sandbox.clock import SandboxClock

__all__ = ["AdmissionHook", "Api", "Request"]  # Request is re-exported: callers build requests here

# Kinds whose DELETE answers with the object rather than a Status (as the API server does).
_RETURNS_OBJECT = frozenset({"pods", "services", "serviceaccounts", "resourcequotas"})
_CORE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Api:
    """The verbs, over one store and one registry of types."""

    def __init__(self, registry: Registry, store: Store, clock: SandboxClock) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.hooks: list[AdmissionHook] = []

    # ------------------------------------------------------------------ reads
    def get(self, req: Request) -> dict[str, Any]:
        obj = self.store.get(req.rtype.group_resource, (req.namespace, req.name))
        if obj is None:
            raise errors.not_found(req.rtype.plural, req.rtype.group, req.name)
        return obj

    def list(self, req: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The list envelope (without items) and the matching items of this page."""
        return list_page(self.store, req)

    # ------------------------------------------------------------------ writes
    def create(self, req: Request, body: Any) -> dict[str, Any]:
        rtype = req.rtype
        obj = _as_object(body)
        check_type_meta(rtype, obj)
        shapes.check(rtype, obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + _random_suffix()
        if rtype.namespaced:
            meta["namespace"] = self._namespace_for(req, meta)
        else:
            meta.pop("namespace", None)
        validate(rtype, obj)
        with self.store.lock:
            key = (meta.get("namespace", ""), meta["name"])
            if self.store.get(rtype.group_resource, key) is not None:
                raise errors.already_exists(rtype.plural, rtype.group, meta["name"])
            now = self.clock.timestamp()
            initialise(rtype, obj, now)
            record_update(
                None,
                obj,
                manager=req.manager,
                api_version=rtype.api_version,
                now=now,
                include_status=not rtype.has_status,
            )
            return self._commit(req, None, obj, "ADDED")

    def update(self, req: Request, body: Any) -> dict[str, Any]:
        rtype = req.rtype
        obj = _as_object(body)
        check_type_meta(rtype, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != req.name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({req.name})"
            )
        with self.store.lock:
            old = self.get(req)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.plural, rtype.group, req.name, errors.STALE_VERSION)
            new = self._carry_over(req, old, obj)
            return self._write_update(req, old, new)

    def patch(self, req: Request, content_type: str, raw: bytes) -> dict[str, Any]:
        rtype = req.rtype
        content_type = content_type.split(";", 1)[0].strip()
        custom = rtype.group not in BUILTIN_GROUPS
        if content_type == APPLY_PATCH_YAML:
            return self._apply(req, raw)
        if "force" in req.params:
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [("force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch")],
            )
        try:
            patch = json.loads(raw or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        with self.store.lock:
            old = self.get(req)
            patched = apply_patch(content_type, old, patch, custom=custom)
            if not isinstance(patched.get("metadata"), dict):
                raise errors.bad_request("metadata must be an object")
            wanted_rv = patched["metadata"].get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.plural, rtype.group, req.name, errors.STALE_VERSION)
            new = self._carry_over(req, old, patched)
            return self._write_update(req, old, new)

    def _apply(self, req: Request, raw: bytes) -> dict[str, Any]:
        rtype = req.rtype
        if not req.params.get("fieldManager"):
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [("fieldManager", "FieldValueRequired", "Required value: is required for apply patch")],
            )
        try:
            applied = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        applied = _as_object(applied)
        shapes.check(rtype, applied)
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise errors.bad_request("apiVersion and kind must be set in an applied configuration")
        check_type_meta(rtype, applied)
        meta = applied.setdefault("metadata", {})
        if meta.get("name", req.name) != req.name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({req.name})"
            )
        meta["name"] = req.name
        if rtype.namespaced:
            meta["namespace"] = self._namespace_for(req, meta)
        force = req.params.get("force") in ("true", "1")
        status_only = req.subresource == "status"
        with self.store.lock:
            live = self.store.get(rtype.group_resource, (req.namespace, req.name))
            wanted_rv = meta.get("resourceVersion")
            if live is not None and wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.plural, rtype.group, req.name, errors.STALE_VERSION)
            if live is None and status_only:
                raise errors.not_found(rtype.plural, rtype.group, req.name)
            now = self.clock.timestamp()
            merged = server_side_apply(
                live,
                applied,
                manager=req.manager,
                force=force,
                api_version=rtype.api_version,
                now=now,
                plural=rtype.plural,
                group=rtype.group,
                include_status=status_only or not rtype.has_status,
                subresource=req.subresource,
            )
            if live is None:
                validate(rtype, merged)
                managed = merged["metadata"].get("managedFields")
                initialise(rtype, merged, now)
                merged["metadata"]["managedFields"] = managed
                return self._commit(req, None, merged, "ADDED")
            new = self._carry_over(req, live, merged, keep_managed=True)
            return self._write_update(req, live, new, managed_done=True)

    def delete(self, req: Request, body: Any = None) -> dict[str, Any]:
        """Delete (or start deleting) one object; the answer body as the API server sends it."""
        rtype = req.rtype
        options = body if isinstance(body, dict) else {}
        with self.store.lock:
            obj = self.get(req)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
                raise errors.conflict(
                    rtype.plural,
                    rtype.group,
                    req.name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, "
                    f"UID in object meta: {obj['metadata'].get('uid')}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.plural, rtype.group, req.name, errors.STALE_VERSION)
            if rtype.kind == "Namespace" and rtype.group == "" and req.name in _CORE_NAMESPACES[:3]:
                raise ApiError(
                    403,
                    "Forbidden",
                    f'namespaces "{req.name}" is forbidden: this namespace may not be deleted',
                    {"name": req.name, "kind": "namespaces"},
                )
            grace = _grace_period(req, options, obj)
            result = self._delete_object(req, obj, grace)
        if rtype.plural in _RETURNS_OBJECT or rtype.group not in BUILTIN_GROUPS:
            return result
        return _success_status(rtype, obj)

    def _delete_object(self, req: Request, obj: dict[str, Any], grace: int) -> dict[str, Any]:
        rtype = req.rtype
        meta = obj["metadata"]
        graceful = rtype.kind == "Pod" and grace > 0 and obj.get("spec", {}).get("nodeName")
        if meta.get("finalizers") or graceful:
            if meta.get("deletionTimestamp"):
                return obj
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = self.clock.timestamp(self.clock.now() + grace)
            new["metadata"]["deletionGracePeriodSeconds"] = grace if graceful else 0
            if req.dry_run:
                return new
            return self.store.put(rtype.group_resource, new, "MODIFIED")
        for hook in self.hooks:
            hook.admit(rtype, obj, None)
        if req.dry_run:
            return obj
        if rtype.kind == "Namespace" and rtype.group == "":
            self._empty_namespace(meta["name"])
        gone = self.store.remove(rtype.group_resource, (meta.get("namespace", ""), meta["name"]))
        for hook in self.hooks:
            hook.committed(rtype, obj, None)
        return gone or obj

    def delete_collection(self, req: Request) -> dict[str, Any]:
        _, items = self.list(
            Request(
                req.rtype,
                req.namespace,
                params={k: v for k, v in req.params.items() if k in ("labelSelector", "fieldSelector")},
            )
        )
        for obj in items:
            meta = obj["metadata"]
            sub = Request(
                req.rtype,
                meta.get("namespace", ""),
                meta["name"],
                params=req.params,
                user_agent=req.user_agent,
            )
            try:
                self.delete(sub)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    # ------------------------------------------------------------------ helpers
    def _namespace_for(self, req: Request, meta: dict[str, Any]) -> str:
        namespace = req.namespace or meta.get("namespace") or "default"
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns_type = self.registry.lookup("", "v1", "namespaces")
        if ns_type is not None and self.store.get(ns_type.group_resource, ("", namespace)) is None:
            raise errors.not_found("namespaces", "", namespace)
        return str(namespace)

    def _carry_over(
        self, req: Request, old: dict[str, Any], new: dict[str, Any], *, keep_managed: bool = False
    ) -> dict[str, Any]:
        """Keep what a client may not change: identity, bookkeeping, and status or spec
        depending on whether the main resource or the status subresource is written."""
        rtype = req.rtype
        new = copy.deepcopy(new) if new is not old else copy.deepcopy(old)
        meta = new.setdefault("metadata", {})
        for key in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        if not keep_managed:
            if "managedFields" in old["metadata"]:
                meta["managedFields"] = old["metadata"]["managedFields"]
            else:
                meta.pop("managedFields", None)
        if rtype.has_status:
            if req.subresource == "status":
                status = new.get("status")
                new = {**copy.deepcopy(old), "status": status} if status is not None else copy.deepcopy(old)
                new["metadata"]["managedFields"] = meta.get("managedFields", [])
            elif "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def _write_update(
        self, req: Request, old: dict[str, Any], new: dict[str, Any], *, managed_done: bool = False
    ) -> dict[str, Any]:
        rtype = req.rtype
        validate(rtype, new)
        bump_generation(rtype, old, new)
        if not managed_done:
            record_update(
                old,
                new,
                manager=req.manager,
                api_version=rtype.api_version,
                now=self.clock.timestamp(),
                subresource=req.subresource,
                include_status=req.subresource == "status" or not rtype.has_status,
            )
        if _same_content(old, new):
            return old
        meta = new["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not (rtype.kind == "Pod" and meta.get("deletionGracePeriodSeconds"))
        ):
            return self._delete_object(req, new, 0)
        return self._commit(req, old, new, "MODIFIED")

    def _commit(
        self, req: Request, old: dict[str, Any] | None, new: dict[str, Any], kind: str
    ) -> dict[str, Any]:
        for hook in self.hooks:
            hook.admit(req.rtype, old, new)
        if req.dry_run:
            return new
        stored = self.store.put(req.rtype.group_resource, new, kind)
        for hook in self.hooks:
            hook.committed(req.rtype, old, stored)
        return stored

    def _empty_namespace(self, namespace: str) -> None:
        for group, version in self.registry.group_versions():
            for rtype in self.registry.resources(group, version):
                if not rtype.namespaced:
                    continue
                items, _ = self.store.list_objects(rtype.group_resource, namespace)
                for obj in items:
                    self.store.remove(rtype.group_resource, (namespace, obj["metadata"]["name"]))

    def ensure_namespaces(self, names: tuple[str, ...] = _CORE_NAMESPACES) -> None:
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        for name in names:
            if self.store.get(ns_type.group_resource, ("", name)) is None:
                self.create(
                    Request(ns_type, user_agent="kube-apiserver"),
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                )


def _as_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    if "metadata" in body and not isinstance(body["metadata"], dict):
        raise errors.bad_request("metadata must be an object")
    return copy.deepcopy(body)


def _random_suffix() -> str:
    import secrets

    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _grace_period(req: Request, options: dict[str, Any], obj: dict[str, Any]) -> int:
    value: Any = req.params.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
    if value is None:
        value = obj.get("spec", {}).get("terminationGracePeriodSeconds", 30) if req.rtype.kind == "Pod" else 0
    try:
        return max(0, int(value))
    except (TypeError, ValueError) as exc:
        raise errors.bad_request(f"gracePeriodSeconds must be an integer, got {value!r}") from exc


def _same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def strip(obj: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in obj["metadata"].items() if k not in ("managedFields", "resourceVersion")}
        return {**obj, "metadata": meta}

    return strip(old) == strip(new) and _managers(old) == _managers(new)


def _managers(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e.get("manager", ""), e.get("operation", ""), json.dumps(e.get("fieldsV1"), sort_keys=True))
        for e in obj["metadata"].get("managedFields") or []
    ]


def _success_status(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "name": obj["metadata"]["name"],
        "kind": rtype.plural,
        "uid": obj["metadata"].get("uid", ""),
    }
    if rtype.group:
        details["group"] = rtype.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

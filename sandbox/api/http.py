"""The HTTP front: a threading HTTP/1.1 server (keep-alive, chunked watch streams) that
authenticates the bearer token, injects faults, counts requests, and maps each request to
a verb of `handlers.Api` (or discovery, eviction, watch). Errors leave as `Status` bodies.

The stdlib server is enough here: every request is served from memory in well under a
millisecond, connections are kept alive, and each long-lived watch holds one thread.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from sandbox.api import errors, scale, tables
from sandbox.api.errors import ApiError
from sandbox.api.eviction import evict
from sandbox.api.handlers import Api, Request
from sandbox.api.metapaths import RawDocument, meta_document
from sandbox.api.objects import BUILTIN_GROUPS as _BUILTIN_GROUPS
from sandbox.api.routing import route
from sandbox.api.store import encode
from sandbox.api.watch import Render, raw_event, stream
from sandbox.faults import Fault, Faults
from sandbox.stats import RequestStats

_OPEN_PATHS = frozenset({"/version", "/healthz", "/readyz", "/livez"})


@dataclass
class ServerContext:
    api: Api
    token: str
    faults: Faults
    stats: RequestStats
    address: str = ""


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], context: ServerContext, tls: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(address, _Handler)
        self.context = context
        self.tls = tls

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that disconnects mid-request is normal; anything else is reported."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; with TLS the handshake runs later, on the handler's thread."""
        sock, address = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gpuctl-sandbox"
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""

    def handle(self) -> None:
        if self.server.context.faults.unreachable:
            self._reset()
            return
        super().handle()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0), as an unreachable server does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # ------------------------------------------------------------------ dispatch
    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        ctx = self.server.context
        if ctx.faults.unreachable:  # a kept-alive connection
            self._reset()
            return
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        raw = self._read_body()
        verb, dry_run = "discovery", False
        if url.path in ("/healthz", "/readyz", "/livez"):
            self._send_body(200, b"ok", "text/plain")
            return
        headers: dict[str, str] = {}
        try:
            if url.path not in _OPEN_PATHS and self.headers.get("Authorization") != f"Bearer {ctx.token}":
                raise errors.unauthorized()
            discovered = meta_document(
                ctx.api.registry, url.path, self.headers.get("Accept", ""), ctx.address
            )
            if isinstance(discovered, RawDocument):
                ctx.stats.record(verb, dry_run, time.perf_counter() - started)
                self._send_body(200, discovered.body, discovered.content_type)
                return
            if discovered is not None:
                code, body = 200, encode(discovered)
            else:
                found = route(ctx.api.registry, url.path)
                req = Request(
                    found.rtype,
                    found.namespace,
                    found.name,
                    found.subresource,
                    params,
                    self.headers.get("User-Agent", ""),
                )
                verb = _verb(method, req)
                dry_run = req.dry_run
                self._inject_fault(ctx.faults, verb)
                if verb == "watch":
                    ctx.stats.record(verb, False, None)
                    as_table = tables.wants_table(self.headers.get("Accept", ""))
                    render = self._table_events(req) if as_table else raw_event
                    watch_lines = stream(
                        ctx.api.store,
                        req,
                        delay_s=ctx.faults.watch_delay,
                        client_gone=lambda: ctx.faults.unreachable or self._client_gone(),
                        render=render,
                    )
                    self._send_stream(watch_lines, req.rtype.group_resource)
                    return
                code, body = self._dispatch(ctx.api, method, verb, req, raw)
        except ApiError as exc:
            code, body, headers = exc.code, encode(exc.status()), exc.headers
        except (_Dropped, OSError):
            ctx.stats.record(verb, dry_run, None)
            self.close_connection = True
            return
        except Exception as exc:  # a bug must still answer as the API server would
            code, body = 500, encode(errors.internal(repr(exc)).status())
        # Counted before answering, so a client that has its answer also sees its request counted.
        ctx.stats.record(verb, dry_run, time.perf_counter() - started)
        try:
            self._send_json(code, body, headers)
        except OSError:
            self.close_connection = True

    def _dispatch(self, api: Api, method: str, verb: str, req: Request, raw: bytes) -> tuple[int, bytes]:
        if req.subresource == "scale":
            return self._scale(api, verb, req, raw)
        table_wanted = tables.wants_table(self.headers.get("Accept", ""))
        if verb == "get":
            obj = api.get(req)
            if table_wanted:
                return 200, encode(
                    self._table(req, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]})
                )
            return 200, self._encode_object(req, obj)
        if verb == "list":
            envelope, items = api.list(req)
            if table_wanted:
                return 200, encode(self._table(req, items, envelope["metadata"]))
            head = encode(envelope)[:-1]
            if req.rtype.group in _BUILTIN_GROUPS:
                body = b",".join(api.store.encoded_list_item(req.rtype.group_resource, o) for o in items)
            else:
                body = b",".join(self._encode_object(req, o) for o in items)
            return 200, head + b',"items":[' + body + b"]}"
        if verb == "create" and req.subresource == "eviction":
            return 201, encode(evict(api, req, self._decode(raw)))
        if verb == "create":
            created = api.create(req, self._decode(raw))
            return 201, self._encode_object(req, created)
        if verb == "update":
            return 200, self._encode_object(req, api.update(req, self._decode(raw)))
        if verb == "patch":
            content_type = self.headers.get("Content-Type", "")
            existed = api.store.get(req.rtype.group_resource, (req.namespace, req.name)) is not None
            patched = api.patch(req, content_type, raw)
            return (200 if existed else 201), self._encode_object(req, patched)
        if verb == "delete":
            result = api.delete(req, self._decode(raw) if raw else None)
            # 202 when finalizers hold the object; a graceful pod deletion is a 200, as upstream
            code = 202 if result.get("metadata", {}).get("finalizers") else 200
            return code, self._encode_object(req, result) if result.get("kind") != "Status" else encode(
                result
            )
        if verb == "deletecollection":
            return 200, encode(api.delete_collection(req))
        raise errors.method_not_allowed()

    def _scale(self, api: Api, verb: str, req: Request, raw: bytes) -> tuple[int, bytes]:
        if verb == "get":
            return 200, encode(scale.get_scale(api, req))
        if verb == "update":
            return 200, encode(scale.write_scale(api, req, self._decode(raw)))
        if verb == "patch":
            return 200, encode(scale.patch_scale(api, req, self.headers.get("Content-Type", ""), raw))
        raise errors.method_not_allowed()

    def _table_events(self, req: Request) -> Render:
        """Watch events as one-row Tables (`kubectl get -w`); column definitions in the first only."""
        first = [True]

        def render(event_type: str, obj: dict[str, Any], encoded: bytes) -> bytes:
            table = self._table(req, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            if not first[0]:
                table["columnDefinitions"] = []
            first[0] = False
            return encode({"type": event_type, "object": table}) + b"\n"

        return render

    def _table(self, req: Request, items: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
        include = req.params.get("includeObject", "Metadata")
        return tables.table(req.rtype.kind, items, self.server.context.api.clock, meta, include)

    def _encode_object(self, req: Request, obj: dict[str, Any]) -> bytes:
        if obj.get("apiVersion") != req.rtype.api_version and obj.get("kind") == req.rtype.kind:
            return encode({**obj, "apiVersion": req.rtype.api_version})  # served version of a CR
        return self.server.context.api.store.encoded(req.rtype.group_resource, obj)

    # ------------------------------------------------------------------ I/O
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _decode(self, raw: bytes) -> Any:
        content_type = self.headers.get("Content-Type", "application/json").split(";", 1)[0].strip()
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        if content_type not in ("application/json", ""):
            raise errors.unsupported_media_type(content_type, ["application/json", "application/yaml"])
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding JSON: {exc}") from exc

    def _inject_fault(self, faults: Faults, verb: str) -> None:
        fault = faults.pick(verb)
        if fault is Fault.ERROR:
            raise errors.internal("injected fault")
        if fault is Fault.THROTTLE:
            raise errors.too_many_requests(
                "injected throttling: too many requests, please try again later",
                retry_after=faults.retry_after_seconds,
            )
        if fault is Fault.TIMEOUT:
            time.sleep(faults.timeout_seconds)
            raise _Dropped

    def _send_json(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._send_body(code, body, "application/json", headers)

    def _send_body(
        self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_stream(self, lines: Iterator[bytes], resource: tuple[str, str]) -> None:
        stats = self.server.context.stats
        stats.watch_opened(resource)
        try:
            self._stream(lines)
        finally:
            stats.watch_closed(resource)

    def _stream(self, lines: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self.wfile.flush()
            for line in lines:
                self._chunk(line)
            if self.server.context.faults.unreachable:  # cut, not ended
                self._reset()
                return
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away (reset, broken pipe, TLS EOF)
            self.close_connection = True

    def _client_gone(self) -> bool:
        """True when the peer closed the connection (a watching client sends nothing more)."""
        conn = self.connection
        try:
            readable, _, _ = select.select([conn], [], [], 0)
            if not readable:
                return False
            conn.settimeout(0.05)
            try:
                return bool(conn.recv(1) == b"")
            finally:
                conn.settimeout(None)
        except (ssl.SSLWantReadError, TimeoutError):
            return False
        except (OSError, ValueError):
            return True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class _Dropped(Exception):
    """An injected timeout: the connection is closed without an answer."""


def _verb(method: str, req: Request) -> str:
    if method == "GET":
        if req.params.get("watch") in ("true", "1"):
            return "watch"
        return "get" if req.name else "list"
    if method == "POST":
        if req.name and req.subresource != "eviction":
            raise errors.method_not_allowed()
        return "create"
    if method == "PUT":
        if not req.name:
            raise errors.method_not_allowed()
        return "update"
    if method == "PATCH":
        if not req.name:
            raise errors.method_not_allowed()
        return "patch"
    if method == "DELETE":
        return "delete" if req.name else "deletecollection"
    raise errors.method_not_allowed()

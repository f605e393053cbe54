"""A fault-injecting proxy on loopback in front of a real kube-apiserver: the sandbox's fault
injection (`sandbox.faults.Faults`: 500s, 429 with Retry-After, hung requests, the API
unreachable) for a server that cannot be told to fail, plus cut watch streams and an outage of
a chosen length.

    with FaultProxy(Upstream.admin_of(plane), workdir) as proxy:
        client = kubernetes.config.new_client_from_config(str(proxy.kubeconfig))
        proxy.faults.error_rate = 0.05
        proxy.outage(60.0)      # every connection reset for 60 s, open watches cut
        proxy.cut_watches()     # end every open watch stream now (clients re-watch)
        proxy.writes("gpuctl/") # the mutating requests of that user agent that the server accepted

It speaks TLS to the server as the upstream identity (a client certificate), and serves TLS
(its own throw-away CA, in the kubeconfig it writes) or plain HTTP to the client, which needs
no credentials. A faulted request never reaches the server, so a write refused by a fault did
not happen. Every mutating request is logged with its user agent and answer, an account of what
was written to the cluster that does not depend on the client's own counters.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml

from sandbox.faults import Fault, Faults
from sandbox.proxy_requests import LoggedRequest, Route, route
from sandbox.tls import issue

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy sets itself.
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host",
                  "proxy-connection", "te", "trailer", "upgrade", "authorization"})
_HTTP_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError)


@dataclass(frozen=True)
class Upstream:
    """The real API server: its URL, the CA that signed its serving certificate, and the
    client certificate the proxy presents (the identity every proxied request has)."""

    url: str
    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def admin_of(cls, plane: Any) -> Upstream:
        """The admin identity of a `sandbox.controlplane.ControlPlane`."""
        return cls(plane.url, plane.ca_file, plane.files.admin_cert, plane.files.admin_key)

    def connect(self, timeout: float) -> http.client.HTTPSConnection:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(self.cert_file, self.key_file)
        parts = urlsplit(self.url)
        return http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port or 443,
                                           context=context, timeout=timeout)


@dataclass
class _Open:
    """A connection being served: its client socket, and its upstream while a watch streams."""

    client: socket.socket
    upstream: http.client.HTTPSConnection | None = None


@dataclass
class ProxyState:
    """What the handlers share: the faults, the outage, the open connections and the log."""

    upstream: Upstream
    faults: Faults
    upstream_timeout: float
    outage_until: float = 0.0
    log: list[LoggedRequest] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: dict[int, _Open] = field(default_factory=dict)

    def unreachable(self) -> bool:
        return self.faults.unreachable or time.monotonic() < self.outage_until

    def record(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.served[entry.fault or "forwarded"] += 1
            if entry.mutating:
                self.log.append(entry)


def reset(sock: socket.socket) -> None:
    """Close `sock` with a TCP reset (SO_LINGER 0), as a server that is gone does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, state: ProxyState, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection reset or cut by a fault is expected; anything else is reported."""
        import sys

        if not isinstance(sys.exc_info()[1], _HTTP_ERRORS):
            super().handle_error(request, client_address)


class _Cut(Exception):
    """The connection was reset (unreachable, outage) or dropped (a hung request)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gpuctl-fault-proxy"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPSConnection | None = None
        with self.server.state.lock:
            self.server.state.open[id(self)] = _Open(self.connection)

    def finish(self) -> None:
        with self.server.state.lock:
            self.server.state.open.pop(id(self), None)
        if self._upstream is not None:
            self._upstream.close()
        with contextlib.suppress(OSError):
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Cut:
            self.close_connection = True
            reset(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `FaultProxy.requests`."""

    def _proxy(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = route(self.command, self.path)
        entry = LoggedRequest(time.time(), self.command, target.path, target.query,
                              self.headers.get("User-Agent", ""), 0)
        if state.unreachable():
            state.record(entry.answered(0, "unreachable"))
            raise _Cut
        fault = None if target.discovery else state.faults.pick(target.verb)
        if fault is Fault.ERROR:
            self._status(500, "InternalError", "injected fault: internal error")
            state.record(entry.answered(500, fault.value))
        elif fault is Fault.THROTTLE:
            self._status(429, "TooManyRequests", "injected throttling: too many requests, please try "
                         "again later", {"Retry-After": str(state.faults.retry_after_seconds)})
            state.record(entry.answered(429, fault.value))
        elif fault is Fault.TIMEOUT:
            state.record(entry.answered(0, fault.value))
            state.stopping.wait(state.faults.timeout_seconds)
            raise _Cut
        else:
            status = self._forward(target, body)
            state.record(entry.answered(status, None))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy

    def _status(self, code: int, reason: str, message: str, headers: dict[str, str] | None = None) -> None:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}
        self._send(code, {"Content-Type": "application/json", **(headers or {})},
                   json.dumps(status).encode())

    def _send(self, code: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _connection(self) -> http.client.HTTPSConnection:
        if self._upstream is None:
            self._upstream = self.server.state.upstream.connect(self.server.state.upstream_timeout)
        return self._upstream

    def _forward(self, target: Route, body: bytes | None) -> int:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        try:
            upstream = self._connection()
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
        except _HTTP_ERRORS as exc:  # the server is down or went away: so does this connection
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None
            raise _Cut from exc
        answer = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
        if target.verb == "watch" and response.status == 200:
            self._stream(response, answer)
        else:
            self._send(response.status, answer, response.read())
        return response.status

    def _stream(self, response: http.client.HTTPResponse, headers: dict[str, str]) -> None:
        state = self.server.state
        with state.lock:
            state.open[id(self)].upstream = self._upstream
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            while data := response.read1(65536):
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except _HTTP_ERRORS as exc:  # cut by `cut_watches` or an outage, or either side left
            raise _Cut from exc
        finally:
            with state.lock:
                if id(self) in state.open:
                    state.open[id(self)].upstream = None
            if self._upstream is not None:  # a stream's connection is not reused
                self._upstream.close()
                self._upstream = None


class FaultProxy:
    """The proxy: start it (or use it as a context manager), hand its `kubeconfig` to the
    client under test, switch faults on `faults`, and read `writes()` afterwards."""

    def __init__(self, upstream: Upstream, workdir: Path, *, tls: bool = True,
                 faults: Faults | None = None, upstream_timeout: float = 120.0) -> None:
        self.state = ProxyState(upstream, faults or Faults(), upstream_timeout)
        self.workdir = workdir
        self._tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self.kubeconfig = workdir / "fault-proxy.kubeconfig"

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fault proxy is not running")
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cluster: dict[str, Any] = {}
        context = None
        if self._tls:
            certificate = issue("127.0.0.1")
            context = certificate.server_context(self.workdir)
            cluster["certificate-authority-data"] = certificate.ca_data
        self._server = _Server(self.state, context)
        cluster["server"] = self.url
        self._write_kubeconfig(cluster)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._follow_unreachable, name="fault-proxy-unreachable",
                                         daemon=True)
        self._watcher.start()
        return self

    def _follow_unreachable(self) -> None:
        """Once `faults.unreachable` is set, reset every open connection (as `outage` does)."""
        was = False
        while not self.state.stopping.wait(0.05):
            now = self.state.faults.unreachable
            if now and not was:
                self._drop(watches_only=False)
            was = now

    def _write_kubeconfig(self, cluster: dict[str, Any]) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "fault-proxy", "cluster": cluster}],
            "users": [{"name": "fault-proxy", "user": {}}],
            "contexts": [
                {"name": "fault-proxy", "context": {"cluster": "fault-proxy", "user": "fault-proxy"}}
            ],
            "current-context": "fault-proxy",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))

    def stop(self) -> None:
        self.state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._drop(watches_only=False)
            self._server.server_close()
            self._server = None
        for thread in (self._thread, self._watcher):
            if thread is not None:
                thread.join(10)
        self._thread = self._watcher = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults

    def outage(self, seconds: float) -> None:
        """The API unreachable for `seconds` from now: open connections (watches too) are
        reset at once, and so is every new connection until the time is up."""
        self.state.outage_until = time.monotonic() + seconds
        self._drop(watches_only=False)

    @property
    def in_outage(self) -> bool:
        return self.state.unreachable()

    def cut_watches(self) -> int:
        """Reset the connection of every open watch stream (the client must watch again);
        returns how many were cut."""
        return self._drop(watches_only=True)

    @property
    def open_watches(self) -> int:
        with self.state.lock:
            return sum(1 for c in self.state.open.values() if c.upstream is not None)

    def _drop(self, *, watches_only: bool) -> int:
        with self.state.lock:
            chosen = [c for c in self.state.open.values() if c.upstream is not None or not watches_only]
        for conn in chosen:
            if conn.upstream is not None and conn.upstream.sock is not None:
                with contextlib.suppress(OSError):
                    conn.upstream.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.client.shutdown(socket.SHUT_RDWR)
        return len(chosen)

    # ------------------------------------------------------------------ the log

    def requests(self) -> list[LoggedRequest]:
        """Every mutating request seen so far (answered, faulted or reset), oldest first."""
        with self.state.lock:
            return list(self.state.log)

    def writes(self, user_agent_prefix: str = "") -> list[LoggedRequest]:
        """The mutating requests from user agents starting with `user_agent_prefix` that the
        server accepted (2xx), dry runs excluded: what those clients wrote to the cluster."""
        return [r for r in self.requests() if r.user_agent.startswith(user_agent_prefix) and r.written]

    def served(self) -> dict[str, int]:
        """Requests by what happened to them: `forwarded`, or the fault injected."""
        with self.state.lock:
            return dict(self.state.served)


@contextlib.contextmanager
def fault_proxy(plane: Any, workdir: Path, *, tls: bool = True) -> Iterator[FaultProxy]:
    """A proxy in front of control plane `plane` with its admin identity."""
    with FaultProxy(Upstream.admin_of(plane), workdir, tls=tls) as proxy:
        yield proxy

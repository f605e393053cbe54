"""How gpuctl reaches a cluster: a kubeconfig (with an optional context), the in-cluster
service account, or the embedded sandbox (its kubeconfig file, or its URL).

Used by `reconciler.cluster.client`; returns a configured `kubernetes.client.ApiClient`.

urllib3 would retry a refused connection three times, logging each retry, before our own
retries (`retrying.call_with_retries`, with backoff) even start: every client gets
`URLLIB3_RETRIES`, no retry on connect or status and one on a broken read (a pooled
keep-alive connection the server closed), so an unreachable API fails in about a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from reconciler.errors import TerminalError

URLLIB3_RETRIES = urllib3.Retry(total=1, connect=0, read=1, status=0, other=0, redirect=3)
# The User-Agent of every request gpuctl sends (kubectl sends `kubectl/VERSION ...`), so that an
# API server's audit log, or a proxy in front of it, can tell gpuctl's requests from others'.
USER_AGENT = "gpuctl/0.1.0"


@dataclass(frozen=True)
class ConnectionSpec:
    """Where to connect. With nothing set: $KUBECONFIG / ~/.kube/config, else in-cluster."""

    kubeconfig: str | None = None
    context: str | None = None
    # A sandbox kubeconfig path, or its http(s) URL.
    sandbox: str | None = None
    request_timeout: float = 30.0


def api_client_for(spec: ConnectionSpec) -> k8s.ApiClient:
    """A ready ApiClient for `spec` (User-Agent `gpuctl/VERSION`); TerminalError with the reason
    when none can be built."""
    api = _api_client(spec)
    api.user_agent = USER_AGENT
    return api


def _api_client(spec: ConnectionSpec) -> k8s.ApiClient:
    if spec.sandbox:
        if spec.sandbox.startswith(("http://", "https://")):
            configuration = _configuration()
            configuration.host = spec.sandbox.rstrip("/")
            configuration.verify_ssl = False
            return k8s.ApiClient(configuration)
        return _from_kubeconfig(spec.sandbox, None)
    if spec.kubeconfig or spec.context:
        return _from_kubeconfig(spec.kubeconfig, spec.context)
    default = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    if Path(default.split(os.pathsep)[0]).exists():
        return _from_kubeconfig(None, None)
    configuration = _configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise TerminalError(
            f"no kubeconfig at {default} and not running in a cluster ({exc}); "
            "pass --kubeconfig F or --sandbox URL"
        ) from exc
    return k8s.ApiClient(configuration)


def _from_kubeconfig(path: str | None, context: str | None) -> k8s.ApiClient:
    if path is not None and not Path(path).is_file():
        raise TerminalError(f"kubeconfig {path} does not exist")
    configuration = _configuration()
    try:
        k8s_config.load_kube_config(
            config_file=path, context=context, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, ValueError, KeyError) as exc:
        where = path or "the default kubeconfig"
        raise TerminalError(f"cannot use {where} (context {context or 'current'}): {exc}") from exc
    return k8s.ApiClient(configuration)


def _configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    configuration.retries = URLLIB3_RETRIES
    return configuration


def origin_of(spec: ConnectionSpec) -> str:
    """Where the connection's settings come from, for error lines: `kubeconfig K, context C`,
    `sandbox URL` or `in-cluster service account`."""
    if spec.sandbox:
        return "sandbox" if spec.sandbox.startswith(("http://", "https://")) else f"kubeconfig {spec.sandbox}"
    path = spec.kubeconfig or (os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config"))
    first = path.split(os.pathsep)[0]
    if not spec.kubeconfig and not spec.context and not Path(first).exists():
        return "in-cluster service account"
    context = spec.context
    if context is None:
        try:
            _, active = k8s_config.list_kube_config_contexts(config_file=path)
            context = str(active.get("name", "")) if isinstance(active, dict) else ""
        except (ConfigException, OSError, ValueError, KeyError, TypeError):
            context = ""
    return f"kubeconfig {path}, context {context or 'current'}"

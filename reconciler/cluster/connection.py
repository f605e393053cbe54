"""How gpuctl reaches a cluster: a kubeconfig (with an optional context), the in-cluster
service account, or the embedded sandbox (its kubeconfig file, or its URL).

Used by `reconciler.cluster.client`; returns a configured `kubernetes.client.ApiClient`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from reconciler.errors import TerminalError

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
            configuration = k8s.Configuration()
            configuration.host = spec.sandbox.rstrip("/")
            configuration.verify_ssl = False
            return k8s.ApiClient(configuration)
        return _from_kubeconfig(spec.sandbox, None)
    if spec.kubeconfig or spec.context:
        return _from_kubeconfig(spec.kubeconfig, spec.context)
    default = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    if Path(default.split(os.pathsep)[0]).exists():
        return _from_kubeconfig(None, None)
    configuration = k8s.Configuration()
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
    try:
        api_client: k8s.ApiClient = k8s_config.new_client_from_config(config_file=path, context=context)
    except (ConfigException, OSError, ValueError, KeyError) as exc:
        where = path or "the default kubeconfig"
        raise TerminalError(f"cannot use {where} (context {context or 'current'}): {exc}") from exc
    return api_client

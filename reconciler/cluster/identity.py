"""Which cluster, and as whom, without a request: the API server URL a connection uses, a
stable directory-safe cluster id derived from it, and the kubeconfig user of the context.

The cluster id is `<host>-<port>-<8 hex>`: the host (characters other than letters, digits,
`.` and `-` become `-`) and port of the API server URL, then the first 8 hex digits of the
SHA-256 of the normalised URL (`scheme://host:port/path`, host lower-cased, default port
written out, trailing `/` dropped), so two servers behind one host (a proxy's paths) differ.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from kubernetes.config import kube_config
from kubernetes.config.config_exception import ConfigException

from reconciler.cluster.connection import ConnectionSpec

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def cluster_id(server: str) -> str:
    """The directory-safe id of the cluster whose API server is at `server`."""
    parts = urlsplit(server.strip())
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "cluster").lower()
    try:
        port = parts.port or (80 if scheme == "http" else 443)
    except ValueError:  # a port that is not a number: keep the URL's text in the digest only
        port = 443
    normalised = f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"
    digest = hashlib.sha256(normalised.encode()).hexdigest()[:8]
    readable = _UNSAFE.sub("-", host).strip("-") or "cluster"
    return f"{readable}-{port}-{digest}"


def kube_user(spec: ConnectionSpec) -> str:
    """The user name of the kubeconfig context `spec` uses (for a token or client-certificate
    user, that entry's name); empty without a kubeconfig (a sandbox URL, in-cluster) or when
    the kubeconfig cannot be read (connecting reports that)."""
    if spec.sandbox and spec.sandbox.startswith(("http://", "https://")):
        return ""
    path = spec.sandbox or spec.kubeconfig
    if path is None:
        default = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        if not Path(default.split(os.pathsep)[0]).exists():
            return ""
    context = None if spec.sandbox else spec.context
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError, ValueError, KeyError, TypeError):
        return ""
    chosen = active if context is None else next((c for c in contexts if c.get("name") == context), None)
    if not chosen:
        return ""
    return str((chosen.get("context") or {}).get("user") or "")

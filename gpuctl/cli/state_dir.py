"""Where the CLI keeps its per-cluster state, and who runs it.

The default audit database of `gpuctl apply` and `gpuctl rollout ...` (and what `gpuctl audit`
reads without `--db`) is `$XDG_STATE_HOME/gpuctl/<cluster-id>/audit.db` (`XDG_STATE_HOME`
defaults to `~/.local/state`), the cluster id derived from the API server URL of the
connection (`reconciler.cluster.identity.cluster_id`). `--audit-db` and `$GPUCTL_AUDIT_DB`
override it; the daemon (`gpuctl run`, `deploy/`) keeps its explicit path. Nothing is
created until a command has checked its input and reached the cluster (`open_dir`).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from reconciler.cluster import ConnectionSpec
from reconciler.cluster.identity import cluster_id, kube_user
from schemas.results import Operator

DB_ENV_VAR = "GPUCTL_AUDIT_DB"
DB_NAME = "audit.db"
DB_HELP = f"audit log file [default: ${DB_ENV_VAR}, else $XDG_STATE_HOME/gpuctl/<cluster-id>/{DB_NAME}]"


def state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")


def default_audit_db(server: str, explicit: Path | None = None) -> Path:
    """`explicit`, else `$GPUCTL_AUDIT_DB`, else the cluster's state directory's audit.db."""
    if explicit is not None:
        return explicit
    if os.environ.get(DB_ENV_VAR):
        return Path(os.environ[DB_ENV_VAR])
    return state_home() / "gpuctl" / cluster_id(server) / DB_NAME


def open_dir(db: Path) -> None:
    """Create the directory holding `db` (only once the command is about to write it)."""
    db.parent.mkdir(parents=True, exist_ok=True)


def operator(kubeconfig: Path | None, context: str | None, sandbox: str | None) -> Operator:
    """Who runs the command: the kubeconfig user of the context used, and the OS user."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = ""
    spec = ConnectionSpec(str(kubeconfig) if kubeconfig else None, context, sandbox)
    return Operator(kube_user=kube_user(spec), os_user=os_user)

"""Settings of `gpuctl run`, with pydantic-settings. Precedence: command-line flags >
environment variables `GPUCTL_<FIELD>` > the settings file (YAML, `--config` or
`GPUCTL_CONFIG`) > defaults. `load_settings` reports bad values with where they came from
(flag, variable, or file:line) and what would be right."""

from __future__ import annotations

import contextvars
import os
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from reconciler.errors import TerminalError
from reconciler.source.refs import check_branch, check_subpath
from schemas.durations import Duration
from schemas.validation_text import describe

ENV_PREFIX = "GPUCTL_"
# The settings file's values while `load_settings` builds a DaemonSettings.
_file_values: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "gpuctl_settings_file", default=None
)


def _default_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class DaemonSettings(BaseSettings):
    """Everything `gpuctl run` can be told."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    repo: str = Field(".", description="Repository to follow: a local path, or a URL to clone and fetch.")
    branch: str = Field("main", min_length=1)
    path: str = Field("", description="Sub-directory of the repository holding the desired state.")
    working_tree: bool = Field(False, description="Follow uncommitted edits of a local path (development).")
    kubeconfig: Path | None = None
    context: str | None = Field(None, description="kubeconfig context (default: its current-context).")
    in_cluster: bool = False
    sandbox: bool = False
    listen: str = "127.0.0.1:8080"
    audit_db: Path = Path("gpuctl-audit.db")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "gpuctl")
    poll_interval: Duration = 60.0
    resync_interval: Duration = 600.0
    prune: bool = Field(False, description="Delete objects gpuctl applied that are no longer in Git.")
    health_timeout: Duration = Field(0.0, description="Wait this long for applied objects' health (0: no).")
    backoff_base: Duration = 1.0
    backoff_cap: Duration = 300.0
    webhook_secret: SecretStr | None = None
    webhook_max_bytes: int = Field(1 << 20, gt=0)
    webhook_rate_per_s: float = Field(5.0, gt=0)
    webhook_burst: int = Field(20, gt=0)
    leader_elect: bool = True
    lease_namespace: str = "gpuctl-system"
    lease_name: str = "gpuctl-leader"
    lease_duration: Duration = 15.0
    renew_deadline: Duration = 10.0
    retry_period: Duration = 2.0
    identity: str = Field(default_factory=_default_identity)
    log_format: Literal["auto", "json", "console"] = "auto"
    # Workload capture (reconciler/capture): GPU pods → job records for `gpuctl trace export`.
    capture: bool = Field(False, description="Record the GPU jobs that run on the cluster.")
    capture_db: Path | None = Field(None, description="Capture store (default: beside the audit log).")
    capture_retention: Duration = Field(14 * 86400.0, description="Drop ended jobs older than this.")
    capture_max_pods: int = Field(200_000, gt=0, description="Row cap; the oldest jobs go first.")

    @field_validator("branch")
    @classmethod
    def _valid_branch(cls, value: str) -> str:
        return check_branch(value)

    @field_validator("path")
    @classmethod
    def _path_inside_the_repository(cls, value: str) -> str:
        return check_subpath(value)

    @model_validator(mode="after")
    def _one_cluster(self) -> DaemonSettings:
        chosen = [name for name, on in (("kubeconfig", self.kubeconfig is not None),
                                         ("in_cluster", self.in_cluster), ("sandbox", self.sandbox)) if on]
        if len(chosen) > 1:
            both = ", ".join(chosen)
            raise ValueError(f"choose one cluster: kubeconfig, in_cluster or sandbox (got {both})")
        if self.working_tree and self.is_remote:
            raise ValueError("working_tree follows a local directory; it cannot be used with a remote URL")
        if self.poll_interval <= 0 or self.resync_interval <= 0:
            raise ValueError("poll_interval and resync_interval must be positive durations, e.g. 60s, 10m")
        return self

    @property
    def is_remote(self) -> bool:
        """A URL (scheme://… or scp-like user@host:path) rather than a local path."""
        if "://" in self.repo:
            return True
        head = self.repo.split("/", 1)[0]
        return "@" in head and ":" in head

    @property
    def no_cluster_configured(self) -> bool:
        return self.kubeconfig is None and self.context is None and not self.in_cluster and not self.sandbox

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _FileSource(settings_cls)


class _FileSource(PydanticBaseSettingsSource):
    """The settings file's values (read by `load_settings`), lowest precedence but defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_file_values.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get() or {})


class SettingsError(TerminalError):
    """Bad settings; the message names each wrong value's origin and the fix."""


def _read_file(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The file's top-level mapping and the line of each key."""
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise SettingsError(f"{path}:1: the settings file must be a mapping of setting: value")
    lines = {str(k.value).replace("-", "_"): k.start_mark.line + 1 for k, _ in node.value}
    return {str(k).replace("-", "_"): v for k, v in data.items()}, lines


def load_settings(flags: dict[str, Any], settings_file: Path | None = None) -> DaemonSettings:
    """Settings from `flags` (only those given), the environment and `settings_file`."""
    file_values, lines = _read_file(settings_file) if settings_file else ({}, {})
    token = _file_values.set(file_values)
    try:
        return DaemonSettings(**flags)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            if field in flags:
                origin = f"--{field.replace('_', '-')}"
            elif f"{ENV_PREFIX}{field.upper()}" in os.environ:
                origin = f"environment variable {ENV_PREFIX}{field.upper()}"
            elif settings_file is not None and field in lines:
                origin = f"{settings_file}:{lines[field]}: {field}"
            else:
                origin = field or "settings"
            hint = ""
            if error["type"] == "extra_forbidden":
                hint = f" (known settings: {', '.join(sorted(DaemonSettings.model_fields))})"
            problems.append(f"{origin}: {describe(error)}{hint}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from exc
    finally:
        _file_values.reset(token)

"""The real control plane fixture: envtest's assets convention, RBAC as a cluster enforces
it, client-certificate identities, start-up failures that show the component's log."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sandbox.controlplane import ControlPlane, ControlPlaneError, assets_dir, start_control_plane
from tests.conformance.helpers import wait_for
from tests.kube.fixtures import FreshControlPlane, require_assets


def test_assets_dir_needs_etcd_and_apiserver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`KUBEBUILDER_ASSETS` counts only when it names a directory with both executables."""
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    assert assets_dir() is None
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    assert assets_dir() is None
    for name in ("etcd", "kube-apiserver"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    assert assets_dir() == tmp_path


def test_admin_reaches_a_ready_cluster(control_plane: ControlPlane) -> None:
    """The admin kubeconfig lists the system namespaces and the default ServiceAccount exists."""
    api = config.new_client_from_config(str(control_plane.kubeconfig))
    core = client.CoreV1Api(api)
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-node-lease"} <= names
    assert core.read_namespaced_service_account("default", "default").metadata.name == "default"
    assert control_plane.get("/readyz") == 200


def test_rbac_is_enforced_for_a_service_account_identity(control_plane: ControlPlane) -> None:
    """A ServiceAccount's identity is forbidden until a ClusterRoleBinding grants it the verb."""
    user = "system:serviceaccount:rbac-probe:reader"
    kubeconfig = control_plane.client_kubeconfig(
        user, ("system:serviceaccounts", "system:serviceaccounts:rbac-probe")
    )
    probe = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    with pytest.raises(ApiException) as denied:
        probe.list_namespace()
    assert denied.value.status == 403
    rbac = client.RbacAuthorizationV1Api(config.new_client_from_config(str(control_plane.kubeconfig)))
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": "rbac-probe-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "rbac-probe"}],
        }
    )
    try:
        # The authorizer's cache follows the binding within moments; poll the condition.
        wait_for(lambda: _allowed(probe), timeout=10)
    finally:
        rbac.delete_cluster_role_binding("rbac-probe-view")


def _allowed(core: client.CoreV1Api) -> bool:
    try:
        core.list_namespaced_pod("default")
    except ApiException as error:
        if error.status == 403:
            return False
        raise
    return True


@pytest.mark.slow
def test_stopping_ends_every_component(fresh_control_plane: FreshControlPlane) -> None:
    """After the fixture ends a fresh cluster, its server no longer answers and logs remain."""
    plane = fresh_control_plane(scheduler=False, controller_manager=False)
    assert plane.get("/readyz") == 200
    processes = [component.process for component in plane.components]
    assert [c.name for c in plane.components] == ["etcd", "kube-apiserver"]
    plane.stop()
    assert all(process.poll() is not None for process in processes)
    assert plane.get("/readyz") == 0
    assert (plane.workdir / "kube-apiserver.log").stat().st_size > 0


def test_a_failed_start_shows_the_component_log(tmp_path: Path) -> None:
    """An apiserver that exits at start-up raises ControlPlaneError quoting its log."""
    real = require_assets()
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "etcd").symlink_to(real / "etcd")
    fake = assets / "kube-apiserver"
    fake.write_text("#!/bin/sh\necho 'Error: unknown flag: --frobnicate' >&2\nexit 1\n")
    fake.chmod(0o755)
    plane = start_control_plane(assets, tmp_path / "work", scheduler=False, controller_manager=False)
    with pytest.raises(ControlPlaneError, match="unknown flag: --frobnicate"), plane:
        pass

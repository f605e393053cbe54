"""The fault proxy in front of a real kube-apiserver: faults answered without reaching the
server, hung requests dropped, watch streams cut, an outage of a given length, and its log of
the writes the server accepted."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch
from urllib3.exceptions import MaxRetryError, ProtocolError

from sandbox.controlplane import ControlPlane
from sandbox.faultproxy import FaultProxy, Upstream
from sandbox.proxy_requests import route
from tests.conformance.helpers import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def proxied(control_plane: ControlPlane, tmp_path) -> Iterator[tuple[FaultProxy, client.CoreV1Api]]:
    """A fault proxy in front of the session's control plane, and a client through it."""
    with FaultProxy(Upstream.admin_of(control_plane), tmp_path / "proxy") as proxy:
        api = config.new_client_from_config(config_file=str(proxy.kubeconfig))
        api.user_agent = "proxy-test/1"
        yield proxy, client.CoreV1Api(api)
        api.close()


def test_route_reads_the_verb_from_the_url() -> None:
    """Verbs come from the method and the URL's shape; discovery is never faulted."""
    assert route("GET", "/api/v1/namespaces/a/configmaps").verb == "list"
    assert route("GET", "/api/v1/namespaces/a/configmaps/x").verb == "get"
    assert route("GET", "/api/v1/namespaces").verb == "list"
    assert route("GET", "/api/v1/namespaces/a").verb == "get"
    assert route("GET", "/apis/apps/v1/deployments?watch=true").verb == "watch"
    assert route("POST", "/api/v1/namespaces/a/pods/p/eviction").verb == "create"
    assert route("DELETE", "/api/v1/namespaces/a/pods").verb == "deletecollection"
    assert route("GET", "/apis/apps/v1").discovery and route("GET", "/version").discovery


def test_faults_are_answered_by_the_proxy_and_never_reach_the_server(proxied) -> None:
    """500 and 429 (with Retry-After) come from the proxy; the refused create wrote nothing,
    and the log's writes hold only the accepted, non-dry-run create."""
    proxy, core = proxied
    namespace = "default"
    proxy.faults.error_rate, proxy.faults.verbs = 1.0, {"create"}
    with pytest.raises(client.ApiException) as error:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "refused"}})
    assert error.value.status == 500
    assert core.list_namespaced_config_map(namespace).items is not None  # reads pass
    proxy.faults.clear()
    proxy.faults.throttle_rate, proxy.faults.retry_after_seconds = 1.0, 0
    with pytest.raises(client.ApiException) as error:
        core.list_namespaced_config_map(namespace, _request_timeout=5)
    assert error.value.status == 429 and error.value.headers["Retry-After"] == "0"
    proxy.faults.clear()
    names = {cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items}
    assert "refused" not in names
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "proxied-a"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "proxied-b"}}, dry_run="All")
    writes = proxy.writes("proxy-test/")
    assert [(w.method, w.status) for w in writes] == [("POST", 201)]
    assert proxy.writes("someone-else/") == []


def test_a_hung_request_gets_no_answer(proxied) -> None:
    """A request picked to hang is held until the client gives up."""
    proxy, core = proxied
    proxy.faults.timeout_rate, proxy.faults.timeout_seconds = 1.0, 5.0
    with pytest.raises(MaxRetryError):
        core.list_namespace(_request_timeout=0.5)
    proxy.faults.clear()
    assert core.list_namespace().items


def test_cut_watches_and_an_outage_then_recovery(proxied) -> None:
    """`cut_watches` ends an open watch stream with a reset; during `outage(s)` requests get
    no answer; after it the same client works again."""
    proxy, core = proxied
    rv = core.list_namespace().metadata.resource_version
    ended: list[BaseException | None] = []

    def watch_namespaces() -> None:
        try:
            for _ in watch.Watch().stream(core.list_namespace, resource_version=rv, timeout_seconds=60):
                pass
            ended.append(None)
        except (ProtocolError, MaxRetryError, OSError) as exc:
            ended.append(exc)

    watcher = threading.Thread(target=watch_namespaces, daemon=True)
    watcher.start()
    wait_for(lambda: proxy.open_watches == 1, what="the proxy to stream the watch")
    assert proxy.cut_watches() == 1
    watcher.join(30)
    assert ended and ended[0] is not None, "the watch ended normally instead of being cut"
    proxy.outage(3.0)
    assert proxy.in_outage
    with pytest.raises(MaxRetryError):
        core.list_namespace(_request_timeout=2)
    wait_for(lambda: not proxy.in_outage, timeout=10, what="the outage to end")
    assert core.list_namespace().items
    assert proxy.served().get("unreachable", 0) >= 1

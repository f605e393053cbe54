"""Fault injection seen from the official client: timeouts, slow watches, per-verb faults,
and the sandbox ending the watch streams of clients that went away. On the sandbox its
built-in fault injection; on a real API server the same `Faults` in the fault proxy in front
of it (`sandbox.faultproxy`). Watch delays and departed watches are sandbox features."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client, config, watch
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

import sandbox
from sandbox import SandboxSpec
from sandbox.faultproxy import FaultProxy, Upstream
from sandbox.faults import Faults
from tests.conformance.helpers import wait_for


@dataclass
class Faulty:
    """A cluster with switchable faults: `faults`, and the open watches on namespaces."""

    faults: Faults
    namespace_watches: Callable[[], int]
    sandbox: sandbox.Sandbox | None = None


@pytest.fixture
def cluster(
    backend: str, request: pytest.FixtureRequest, tmp_path
) -> Iterator[tuple[Faulty, client.CoreV1Api]]:
    """The sandbox with its fault injection, or the session's real control plane behind the
    fault proxy."""
    import os

    if os.environ.get("GPUCTL_TEST_KUBECONFIG"):
        pytest.skip("faults are injected by the sandbox or by the proxy in front of a local control plane")
    with contextlib.ExitStack() as stack:
        if backend == "real":
            plane = request.getfixturevalue("control_plane")
            proxy = stack.enter_context(FaultProxy(Upstream.admin_of(plane), tmp_path / "proxy"))
            faulty, kubeconfig = Faulty(proxy.faults, lambda: proxy.open_watches), proxy.kubeconfig
        else:
            running = stack.enter_context(sandbox.start(SandboxSpec()))
            faulty = Faulty(running.faults, lambda: running.stats.watching(("", "namespaces")), running)
            kubeconfig = running.kubeconfig_path
        api = config.new_client_from_config(config_file=str(kubeconfig))
        yield faulty, client.CoreV1Api(api)
        api.close()


def sandbox_only(faulty: Faulty) -> sandbox.Sandbox:
    if faulty.sandbox is None:
        pytest.skip("a sandbox feature (a proxy cannot delay a real server's events or see its streams)")
    return faulty.sandbox


def test_injected_timeout_hits_the_client_timeout(cluster: tuple[Faulty, client.CoreV1Api]) -> None:
    """A request picked for a timeout gets no answer; the client's read timeout fires."""
    sb, core = cluster
    sb.faults.timeout_rate, sb.faults.timeout_seconds = 1.0, 2.0
    with pytest.raises((ReadTimeoutError, MaxRetryError)):
        core.list_namespace(_request_timeout=0.3)
    sb.faults.clear()
    assert core.list_namespace().items


def test_faults_limited_to_chosen_verbs(cluster: tuple[Faulty, client.CoreV1Api]) -> None:
    """With `verbs`, only those requests fail: reads pass while creates get 500."""
    sb, core = cluster
    sb.faults.error_rate, sb.faults.verbs = 1.0, {"create"}
    assert core.list_namespace().items
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert err.value.status == 500


def test_watch_delay_holds_events_back(cluster: tuple[Faulty, client.CoreV1Api]) -> None:
    """With a watch delay, an event arrives no sooner than the delay after it happened."""
    faulty, core = cluster
    sb = sandbox_only(faulty)
    sb.faults.watch_delay_seconds = 0.5
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    created_at: list[float] = []

    def create() -> None:
        created_at.append(time.monotonic())
        core.create_namespaced_config_map("default", {"metadata": {"name": "slow"}})

    timer = threading.Timer(0.2, create)
    timer.start()
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10
    ):
        if event["object"].metadata.name != "slow":
            continue  # another writer's ConfigMap (none expected, but not this test's subject)
        received = time.monotonic()
        w.stop()
    timer.join()
    assert received - created_at[0] >= 0.45


def test_watch_of_a_departed_client_ends(cluster: tuple[Faulty, client.CoreV1Api]) -> None:
    """A watch whose client disconnected is ended by the server instead of idling on."""
    faulty, core = cluster
    sb = sandbox_only(faulty)
    assert sb.stats.open_watches == 0
    response = core.list_namespaced_config_map("default", watch=True, _preload_content=False)
    wait_for(lambda: sb.stats.open_watches == 1, what="the server to serve the watch")
    response.close()  # closes the socket (release_conn first would keep it open in the pool)
    response.release_conn()
    wait_for(lambda: sb.stats.open_watches == 0, timeout=60, what="the server to end the watch")


def test_unreachable_resets_requests_and_cuts_watches(cluster: tuple[Faulty, client.CoreV1Api]) -> None:
    """While `unreachable` is set, requests fail with a connection error (no answer at all)
    and an open watch stream ends; once cleared, the same client works again."""
    sb, core = cluster
    rv = core.list_namespace().metadata.resource_version
    ended = threading.Event()

    def watch_namespaces() -> None:
        try:
            for _ in watch.Watch().stream(core.list_namespace, resource_version=rv, timeout_seconds=30):
                pass
        except Exception:  # a cut stream may also surface as a protocol error
            pass
        ended.set()

    watcher = threading.Thread(target=watch_namespaces, daemon=True)
    watcher.start()
    wait_for(lambda: sb.namespace_watches() == 1, what="the server to serve the watch")
    sb.faults.unreachable = True
    with pytest.raises(MaxRetryError):
        core.list_namespace(_request_timeout=2)
    assert ended.wait(60)
    sb.faults.clear()
    assert core.list_namespace().items

"""Fixtures shared by every test directory."""

pytest_plugins = ["tests.kube.fixtures"]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's per-cluster state (default audit databases) goes to a temporary directory,
    never into the home of whoever runs the tests."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))

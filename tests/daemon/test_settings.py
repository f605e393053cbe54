"""Settings precedence (flags > GPUCTL_* environment > settings file > defaults) and errors
that say where a bad value came from."""

import pytest

from reconciler.daemon.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("GPUCTL_"):
            monkeypatch.delenv(name)


def test_flags_beat_environment_which_beats_the_file(tmp_path, monkeypatch):
    """A flag wins over GPUCTL_ variables, which win over the settings file."""
    settings_file = tmp_path / "gpuctl.yaml"
    settings_file.write_text("branch: from-file\npath: clusters/a\nlisten: 0.0.0.0:9000\npoll-interval: 2m\n")
    monkeypatch.setenv("GPUCTL_BRANCH", "from-env")
    monkeypatch.setenv("GPUCTL_LISTEN", "0.0.0.0:9100")
    settings = load_settings({"listen": "127.0.0.1:9200"}, settings_file)
    assert settings.listen == "127.0.0.1:9200"
    assert settings.branch == "from-env"
    assert settings.path == "clusters/a"
    assert settings.poll_interval == 120.0
    assert settings.resync_interval == 600.0


def test_bad_file_value_names_file_and_line(tmp_path):
    """A wrong value in the settings file is reported as file:line with pydantic's reason."""
    settings_file = tmp_path / "gpuctl.yaml"
    settings_file.write_text("branch: main\n\nresync-interval: often\n")
    with pytest.raises(SettingsError, match=r"gpuctl\.yaml:3: resync_interval: .*not a duration"):
        load_settings({}, settings_file)


def test_unknown_file_key_lists_the_known_ones(tmp_path):
    """A misspelt setting is an error that lists the valid names."""
    settings_file = tmp_path / "gpuctl.yaml"
    settings_file.write_text("brnach: main\n")
    with pytest.raises(SettingsError, match=r"gpuctl\.yaml:1: brnach: .*known settings: .*branch"):
        load_settings({}, settings_file)


def test_bad_environment_value_names_the_variable(monkeypatch):
    """A wrong GPUCTL_ variable is reported by its name."""
    monkeypatch.setenv("GPUCTL_WEBHOOK_MAX_BYTES", "-1")
    with pytest.raises(SettingsError, match="environment variable GPUCTL_WEBHOOK_MAX_BYTES"):
        load_settings({})


def test_two_clusters_are_refused():
    """Choosing both a kubeconfig and the sandbox is a usage error."""
    with pytest.raises(SettingsError, match="choose one cluster"):
        load_settings({"kubeconfig": "kc.yaml", "sandbox": True})


@pytest.mark.parametrize(("repo", "remote"), [
    ("https://git.example.invalid/org/gpu.git", True), ("file:///srv/gpu.git", True),
    ("git@git.example.invalid:org/gpu.git", True), ("./desired_state", False), ("/srv/repo", False)])
def test_remote_urls_are_told_from_paths(repo, remote):
    """URLs and scp-like addresses are remote; paths are local."""
    assert load_settings({"repo": repo}).is_remote is remote


def test_working_tree_mode_needs_a_local_path():
    """--working-tree with a URL is refused."""
    with pytest.raises(SettingsError, match="working_tree follows a local directory"):
        load_settings({"repo": "https://git.example.invalid/x.git", "working_tree": True})

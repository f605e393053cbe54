"""The drain rule (`schemas.drain`): which pool changes drain its nodes, and that the reconciler's
rollout and the simulator's rollout cost decide it alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.rollout.targets import needs_rollout, target_for
from schemas.desired import DesiredState
from schemas.drain import describe_change, drain_changes, drain_labels, pool_drain_changes
from schemas.kinds import GPUNodePool, RepoSettings
from schemas.nodelabels import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL
from simulator.rollout_cost import disruptions

MIG_MODEL = "H100-SXM5-80GB"
PLAIN_MODEL = "T4"


def make_pool(
    model: str = MIG_MODEL,
    config: str = "all-disabled",
    strategy: str = "none",
    plugin: str | None = None,
    labels: dict[str, str] | None = None,
) -> GPUNodePool:
    spec: dict[str, object] = {
        "nodeSelector": {"matchLabels": {"pool": "p"}},
        "gpu": {"model": model, "perNode": 8},
        "nodes": 2,
        "mig": {"config": config, "strategy": strategy},
        "labels": labels or {},
    }
    if plugin:
        spec["devicePlugin"] = {"config": plugin}
    return GPUNodePool.model_validate(
        {"apiVersion": "gpuctl.dev/v1alpha1", "kind": "GPUNodePool", "metadata": {"name": "p"}, "spec": spec}
    )


CASES = [
    ("same spec", make_pool(), make_pool(), {}),
    ("MIG config renamed", make_pool(config="all-disabled"), make_pool(config="all-1g.10gb"),
     {MIG_CONFIG_LABEL: ("all-disabled", "all-1g.10gb")}),
    ("MIG config of a model without MIG", make_pool(PLAIN_MODEL, "all-disabled"),
     make_pool(PLAIN_MODEL, "all-1g.10gb"), {}),
    ("device-plugin config set", make_pool(), make_pool(plugin="ts"),
     {DEVICE_PLUGIN_CONFIG_LABEL: (None, "ts")}),
    ("device-plugin config changed", make_pool(plugin="ts"), make_pool(plugin="full"),
     {DEVICE_PLUGIN_CONFIG_LABEL: ("ts", "full")}),
    ("device-plugin config dropped: the label stays", make_pool(plugin="ts"), make_pool(), {}),
    ("plain labels", make_pool(labels={"a": "1"}), make_pool(labels={"a": "2"}), {}),
    ("strategy only: not a node label", make_pool(strategy="none"), make_pool(strategy="mixed"), {}),
    ("both drain labels", make_pool(plugin="a"), make_pool(config="half", plugin="b"),
     {MIG_CONFIG_LABEL: ("all-disabled", "half"), DEVICE_PLUGIN_CONFIG_LABEL: ("a", "b")}),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pool_drain_changes_table(old: GPUNodePool, new: GPUNodePool, expected: dict[str, object]) -> None:
    """Each pool-spec change drains exactly when one of its drain labels must change."""
    assert pool_drain_changes(old, new) == expected


def test_drain_labels_are_the_gpu_operator_inputs_only() -> None:
    """A MIG-capable pool's drain labels are its MIG and device-plugin configs, never its own labels."""
    pool = make_pool(config="half", plugin="ts", labels={"team": "a"})
    assert drain_labels(pool) == {MIG_CONFIG_LABEL: "half", DEVICE_PLUGIN_CONFIG_LABEL: "ts"}
    assert drain_labels(make_pool(PLAIN_MODEL)) == {}


def test_a_node_missing_a_label_is_drained_to_get_it() -> None:
    """A node without the wanted MIG label must change it; one already carrying it need not."""
    wanted = {MIG_CONFIG_LABEL: "half"}
    assert drain_changes({}, wanted) == {MIG_CONFIG_LABEL: (None, "half")}
    assert drain_changes({MIG_CONFIG_LABEL: "half", "other": "x"}, wanted) == {}


def test_describe_change_names_the_config() -> None:
    """Reasons read as the simulator's report shows them, an absent label as `default`."""
    assert describe_change(MIG_CONFIG_LABEL, ("a", "b")) == "MIG config a → b"
    assert describe_change(DEVICE_PLUGIN_CONFIG_LABEL, (None, "ts")) == "device-plugin config default → ts"


def _state(pool: GPUNodePool) -> DesiredState:
    return DesiredState(root=".", revision=None, settings=RepoSettings(), pools=[pool])


pools = st.builds(
    make_pool,
    model=st.sampled_from([MIG_MODEL, PLAIN_MODEL]),
    config=st.sampled_from(["all-disabled", "all-1g.10gb", "half"]),
    strategy=st.sampled_from(["none", "single", "mixed"]),
    plugin=st.sampled_from([None, "ts", "full"]),
    labels=st.sampled_from([{}, {"a": "1"}]),
)


@given(old=pools, new=pools)
def test_reconciler_and_simulator_drain_alike(old: GPUNodePool, new: GPUNodePool) -> None:
    """A node labelled for `old` is rolled out by the reconciler exactly when the simulator
    prices a drain label change for the pool (the simulator adds MIG-strategy changes)."""
    node = {"metadata": {"name": "n", "labels": {"pool": "p", **target_for(old).disruptive}}}
    reconciler_drains = needs_rollout(node, target_for(new))
    (disruption,) = disruptions(_state(old), _state(new)) or [None]
    label_reasons = [] if disruption is None else [r for r in disruption.reasons if "strategy" not in r]
    assert bool(label_reasons) == reconciler_drains
    strategy_changed = old.spec.mig.strategy != new.spec.mig.strategy
    assert (disruption is not None) == (reconciler_drains or strategy_changed)

"""Exponential back-off with a cap."""

import pytest

from reconciler.daemon.backoff import Backoff


def test_delays_double_until_the_cap():
    """Each retry waits twice as long as the one before, never more than the cap."""
    backoff = Backoff(base_s=1.0, cap_s=10.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_long_failure_streaks_stay_at_the_cap():
    """A very long streak of failures neither overflows nor exceeds the cap."""
    assert Backoff(base_s=0.5, cap_s=300.0).delay(10_000) == 300.0


@pytest.mark.parametrize(("base", "cap", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_inconsistent_settings_are_rejected(base, cap, factor):
    """A zero base, a cap below the base or a shrinking factor is a configuration error."""
    with pytest.raises(ValueError, match="back-off needs"):
        Backoff(base_s=base, cap_s=cap, factor=factor)

"""The lockout rules: when failed logins lock an account, for how long, and what resets them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.auth.lockout import Failures, LockoutPolicy, after_failure, is_locked

T0 = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)
POLICY = LockoutPolicy(threshold=3, window=timedelta(minutes=15), duration=timedelta(minutes=15))


def run(minutes: list[float], policy: LockoutPolicy = POLICY) -> tuple[Failures, list[bool]]:
    """Failures at these minutes after T0: the final state and which failure locked."""
    state, locked = Failures(), []
    for m in minutes:
        state, did = after_failure(state, T0 + timedelta(minutes=m), policy)
        locked.append(did)
    return state, locked


@pytest.mark.parametrize(
    ("minutes", "locks"),
    [
        ([0, 1, 2], [False, False, True]),  # three in a row lock at the third
        ([0, 1], [False, False]),  # two are not enough
        ([0, 14, 14.9], [False, False, True]),  # all within 15 minutes of the first
        ([0, 1, 15], [False, False, False]),  # the third is past the window: a fresh count
        ([0, 1, 2, 3, 20], [False, False, True, False, False]),  # while locked: not counted
        ([0, 1, 2, 17, 18, 19], [False, False, True, False, False, True]),  # after: afresh
    ],
)
def test_when_failures_lock(minutes, locks):
    assert run(minutes)[1] == locks


def test_a_lock_lasts_the_duration_from_the_failure_that_set_it():
    state, _ = run([0, 1, 2])
    assert state.locked_until == T0 + timedelta(minutes=17)
    assert is_locked(state, T0 + timedelta(minutes=16, seconds=59))
    assert not is_locked(state, T0 + timedelta(minutes=17))


def test_a_threshold_below_one_means_one():
    policy = LockoutPolicy.from_seconds(0, 60, 60)
    assert policy.threshold == 1
    assert run([0], policy)[1] == [True]


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=30))
def test_never_more_locks_than_failures_allow_and_never_locked_longer_than_the_duration(gaps):
    moments = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    state, locked = run(moments)
    assert sum(locked) <= len(moments) // POLICY.threshold
    if moments:
        last = T0 + timedelta(minutes=moments[-1])
        assert not is_locked(state, last + POLICY.duration)


@given(st.integers(min_value=0, max_value=10), st.floats(min_value=0, max_value=14.9))
def test_a_failure_while_locked_changes_nothing(extra, at):
    state, _ = run([0, 0, 0])
    now = T0 + timedelta(minutes=at)
    for _ in range(extra):
        assert after_failure(state, now, POLICY) == (state, False)

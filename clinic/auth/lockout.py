"""When repeated failed logins lock an account: pure rules over plain values.

An account counts its failed logins from the first one in a window. Reaching `threshold`
failures within `window` locks it for `duration`; while locked, attempts are refused without
counting (the owner was told once), and once the lock ran out counting starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)

    @classmethod
    def from_seconds(cls, threshold: int, window: int, duration: int) -> LockoutPolicy:
        """The policy from settings given in seconds; a threshold below 1 means 1."""
        return cls(max(threshold, 1), timedelta(seconds=window), timedelta(seconds=duration))


@dataclass(frozen=True)
class Failures:
    """An account's failed-login state as stored on it."""

    count: int = 0
    since: datetime | None = None
    locked_until: datetime | None = None


def is_locked(state: Failures, now: datetime) -> bool:
    """True while a lock set earlier has not run out."""
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: Failures, now: datetime, policy: LockoutPolicy) -> tuple[Failures, bool]:
    """The state after one more failed login at `now`, and whether this failure locked it.

    A failure while locked changes nothing (it neither extends the lock nor mails again).
    """
    if is_locked(state, now):
        return state, False
    if state.since is None or now - state.since >= policy.window or state.locked_until:
        # The window has passed, or a lock ran out: this failure opens a fresh count.
        state = Failures()
    count = state.count + 1
    since = state.since or now
    if count >= policy.threshold:
        return Failures(count, since, now + policy.duration), True
    return Failures(count, since, None), False

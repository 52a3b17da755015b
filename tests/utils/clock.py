"""A clock the test moves by hand, for driving the scheduler tick by tick."""

from __future__ import annotations

STARTED = 1_000_000.0


class HandClock:
    def __init__(self, now: float = STARTED) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

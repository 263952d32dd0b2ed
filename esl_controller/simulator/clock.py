"""Simulated time: wall-clock time running ``speed`` times faster from the start.

Every timestamp the simulator reports (event dates, mod_callcenter epochs, wrap-up and
delay gates) comes from one clock, and every wait is divided by the same speed, so a
run at speed 60 is an hour of call-center time in a minute, consistent throughout.
"""

from __future__ import annotations

import time


class SimClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = time.time()

    def now(self) -> float:
        return self._start + (time.time() - self._start) * self.speed

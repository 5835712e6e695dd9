"""Progress for long steps. Assets report here; the CLI installs a rich display. Nothing PHI-bearing
is ever reported: step names, counts and seconds only."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Reporter:
    def start(self, step: str) -> None: ...

    def update(self, step: str, done: int, total: int, unit: str) -> None: ...

    def done(self, step: str, seconds: float, detail: str = "") -> None: ...


reporter: Reporter = Reporter()
_steps: list[str] = []


@contextlib.contextmanager
def step(name: str) -> Iterator[dict]:
    """Time a step and report it; the dict collects a short detail (counts) for the display."""
    info: dict = {}
    reporter.start(name)
    _steps.append(name)
    t0 = time.perf_counter()
    try:
        yield info
    finally:
        _steps.pop()
    info["seconds"] = time.perf_counter() - t0
    reporter.done(name, info["seconds"], info.get("detail", ""))


def count(done: int, total: int, unit: str) -> None:
    """Inside a long step: `done` of `total` units (files, buckets of people, providers) finished."""
    reporter.update(_steps[-1] if _steps else "", done, total, unit)

"""Progress for long steps. Assets report here; the CLI installs a rich display. Nothing PHI-bearing
is ever reported: step names, counts and seconds only."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Reporter:
    def start(self, step: str) -> None: ...

    def done(self, step: str, seconds: float, detail: str = "") -> None: ...


reporter: Reporter = Reporter()


@contextlib.contextmanager
def step(name: str) -> Iterator[dict]:
    """Time a step and report it; the dict collects a short detail (counts) for the display."""
    info: dict = {}
    reporter.start(name)
    t0 = time.perf_counter()
    yield info
    info["seconds"] = time.perf_counter() - t0
    reporter.done(name, info["seconds"], info.get("detail", ""))

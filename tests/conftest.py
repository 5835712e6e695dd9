import os
import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore")
os.umask(0o077)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Two generated demo months, run in order through the Dagster job into one warehouse."""
    from claimrecon.generator import generate
    from claimrecon.runner import run_period

    root = tmp_path_factory.mktemp("demo")
    summary = generate(root / "inbox", months=2, seed=11, scale="demo")
    wh = root / "wh" / "claimrecon.duckdb"
    results = [run_period(root / "inbox", p, wh) for p in summary["periods"]]
    return {"root": root, "inbox": root / "inbox", "warehouse": wh, "periods": summary["periods"], "results": results}


@pytest.fixture
def demo_copy(demo, tmp_path):
    """A private copy of the demo inbox and warehouse for tests that change them."""
    inbox = tmp_path / "inbox"
    shutil.copytree(demo["inbox"], inbox)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    wh.parent.mkdir()
    shutil.copyfile(demo["warehouse"], wh)
    return {"inbox": inbox, "warehouse": wh, "periods": demo["periods"]}


def ro(path: Path):
    import duckdb
    return duckdb.connect(str(path), read_only=True)


# ---------------------------------------------------------------- docs/reliability.md, written by the test run
import json  # noqa: E402

RELIABILITY_DIR = Path(__file__).resolve().parent.parent / ".reliability"
RELIABILITY_PAGE = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


def _controller_pid() -> int:
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def record_reliability(area: str, what: str, cases: int, result: str) -> None:
    """Called by a hardening test after its assertions passed: one line of docs/reliability.md."""
    RELIABILITY_DIR.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(RELIABILITY_DIR / f"{_controller_pid()}-{worker}.jsonl", "a") as f:
        f.write(json.dumps({"area": area, "what": what, "cases": cases, "result": result}) + "\n")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("PYTEST_XDIST_WORKER") or not RELIABILITY_DIR.exists():
        return
    files = sorted(RELIABILITY_DIR.glob(f"{os.getpid()}-*.jsonl"))
    merged: dict[tuple, dict] = {}
    for f in files:
        for line in f.read_text().splitlines():
            r = json.loads(line)
            key = (r["area"], r["what"], r["result"])
            merged.setdefault(key, {**r, "cases": 0})["cases"] += r["cases"]
        f.unlink()
    areas = {k[0] for k in merged}
    if exitstatus != 0 or areas != {"Crash safety", "Hostile input", "Concurrency", "PHI"}:
        return  # only a full, passing run rewrites the page (a partial run would drop its rows)
    lines = ["# Reliability record", "",
             "Written by the test suite (`tests/test_hardening.py`, `tests/test_dagster_materialize.py`) at the end of",
             "each passing run, from what the tests actually tried; it cannot drift from them.", "",
             "| area | fault or hostile input | cases | result |", "| --- | --- | --- | --- |"]
    for r in sorted(merged.values(), key=lambda r: (r["area"], r["what"])):
        lines.append(f"| {r['area']} | {r['what']} | {r['cases']} | {r['result']} |")
    RELIABILITY_PAGE.write_text("\n".join(lines) + "\n")

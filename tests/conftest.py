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


# ---------------------------------------------------------------- docs/reliability.md, written on request
# The tests record what they tried in .reliability/ (untracked). `make reliability` runs the hardening tests
# with CLAIMRECON_RELIABILITY_PAGE=docs/reliability.md and only then is the page rewritten: `make test`
# never modifies a tracked file.
import json  # noqa: E402

RELIABILITY_DIR = Path(__file__).resolve().parent.parent / ".reliability"
AREAS = {"Crash safety", "Hostile input", "Concurrency", "PHI"}


def _controller_pid() -> int:
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def record_reliability(area: str, what: str, cases: int, result: str, *, aborted: int = 0, lost: int = 0,
                       leaks: int = 0) -> None:
    """Called by a hardening test after its assertions passed: one line of the reliability record, with
    the runs aborted by a single record, the records lost and the PHI leaks it measured (each asserted 0)."""
    RELIABILITY_DIR.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(RELIABILITY_DIR / f"{_controller_pid()}-{worker}.jsonl", "a") as f:
        f.write(json.dumps({"area": area, "what": what, "cases": cases, "result": result, "aborted": aborted,
                            "lost": lost, "leaks": leaks}) + "\n")


def render_reliability(rows: list[dict]) -> str:
    merged: dict[tuple, dict] = {}
    for r in rows:
        key = (r["area"], r["what"], r["result"])
        m = merged.setdefault(key, {**r, "cases": 0, "aborted": 0, "lost": 0, "leaks": 0})
        for k in ("cases", "aborted", "lost", "leaks"):
            m[k] += r.get(k, 0)
    total = {k: sum(m[k] for m in merged.values()) for k in ("cases", "aborted", "lost", "leaks")}
    lines = ["# Reliability record", "",
             "Written by `make reliability` (the hardening tests of `tests/test_hardening.py`,",
             "`tests/test_dagster_materialize.py` and `tests/test_dagster_and_catalog.py` with",
             "`CLAIMRECON_RELIABILITY_PAGE` set) from what the tests actually tried; `make test` records the same figures",
             "in the untracked `.reliability/` only. Every figure below is asserted by the test that counted it.", "",
             "| figure | value |", "| --- | --- |",
             f"| cases tried | {total['cases']:,} |",
             f"| runs aborted by a single record (target 0) | {total['aborted']} |",
             f"| records lost: neither loaded nor rejected (target 0) | {total['lost']} |",
             f"| PHI leaks (target 0) | {total['leaks']} |", "",
             "| area | fault or hostile input | cases | result |", "| --- | --- | --- | --- |"]
    for r in sorted(merged.values(), key=lambda r: (r["area"], r["what"])):
        lines.append(f"| {r['area']} | {r['what']} | {r['cases']:,} | {r['result']} |")
    return "\n".join(lines) + "\n"


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("PYTEST_XDIST_WORKER") or not RELIABILITY_DIR.exists():
        return
    rows = []
    for f in sorted(RELIABILITY_DIR.glob(f"{os.getpid()}-*.jsonl")):
        rows += [json.loads(line) for line in f.read_text().splitlines()]
        f.unlink()
    if not rows:
        return
    (RELIABILITY_DIR / "last-run.md").write_text(render_reliability(rows))
    page = os.environ.get("CLAIMRECON_RELIABILITY_PAGE")
    if page and exitstatus == 0 and {r["area"] for r in rows} == AREAS:
        Path(page).write_text(render_reliability(rows))  # only a complete, passing run writes the page
